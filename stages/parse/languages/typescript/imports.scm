; ESM static imports and re-exports, TypeScript forms included. Scope: root (every pattern starts
; at `program`). Conventions: see ../registry.ts.

; import 'x'; import a, { b as c } from 'x'; import * as ns from 'x'
(program (import_statement source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "esm"))
(program (import_statement (import_clause (identifier) @import.default)
   source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "esm"))
(program (import_statement (import_clause (namespace_import) @import.namespace)
   source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "esm"))
(program (import_statement (import_clause (named_imports (import_specifier name: _ @import.name)))
   source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "esm"))

; export * from 'x'; export * as ns from 'x'; export { a, b as c } from 'x'
(program (export_statement "*" @import.namespace source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "reexport"))
(program (export_statement (namespace_export) @import.namespace
   source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "reexport"))
(program (export_statement (export_clause (export_specifier name: _ @import.name))
   source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "reexport"))

; TypeScript: import x = require('x')
(program (import_statement (import_require_clause (identifier) @import.namespace
   source: (string (string_fragment) @import.source))) @import.node
  (#set! kind "require"))

; import type { A } from 'x'; export type { A } from 'x' (type-only; merged with the matches above)
(program (import_statement "type" source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "esm") (#set! typeOnly "true"))
(program (export_statement "type" source: (string (string_fragment) @import.source)) @import.node
  (#set! kind "reexport") (#set! typeOnly "true"))
