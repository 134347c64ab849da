; ESM exports, TypeScript declarations included. Scope: root (every pattern starts at `program`). Conventions: see ../registry.ts.

; export function f() {}; export class C {}; export const a = 1, b = 2
(program (export_statement declaration: [
   (function_declaration name: (identifier) @export.name)
   (generator_function_declaration name: (identifier) @export.name)
   (class_declaration name: (_) @export.name)
   (abstract_class_declaration name: (_) @export.name)
   (interface_declaration name: (_) @export.name)
   (type_alias_declaration name: (_) @export.name)
   (enum_declaration name: (_) @export.name)
   (function_signature name: (_) @export.name)
   (internal_module name: (_) @export.name)
   (ambient_declaration [
     (function_signature name: (_) @export.name)
     (class_declaration name: (_) @export.name)
     (abstract_class_declaration name: (_) @export.name)
     (lexical_declaration (variable_declarator name: (identifier) @export.name))
     (variable_declaration (variable_declarator name: (identifier) @export.name))
     (enum_declaration name: (_) @export.name)
     (interface_declaration name: (_) @export.name)
     (type_alias_declaration name: (_) @export.name)
   ])
   (lexical_declaration (variable_declarator name: (identifier) @export.name))
   (variable_declaration (variable_declarator name: (identifier) @export.name))
 ] !source) @export.node
  (#not-match? @export.node "^export\\s+default")
  (#set! kind "named"))

; export { a, b as c } (a local list, no source)
(program (export_statement (export_clause (export_specifier name: _ @export.name !alias)) !source) @export.node
  (#set! kind "named"))
(program (export_statement (export_clause (export_specifier alias: _ @export.name)) !source) @export.node
  (#set! kind "named"))

; export default ...
(program (export_statement "default") @export.node
  (#set! kind "default") (#set! name "default"))

; export { a, b as c } from 'x'; export * as ns from 'x'; export * from 'x'
(program (export_statement (export_clause (export_specifier name: _ @export.name !alias)) source: (_)) @export.node
  (#set! kind "reexport"))
(program (export_statement (export_clause (export_specifier alias: _ @export.name)) source: (_)) @export.node
  (#set! kind "reexport"))
(program (export_statement (namespace_export (_) @export.name) source: (_)) @export.node
  (#set! kind "reexport"))
(program (export_statement "*" . source: (_)) @export.node
  (#set! kind "reexport") (#set! name "*"))

; export = x (TypeScript's CommonJS export)
(program (export_statement "=") @export.node
  (#set! kind "cjs-module") (#set! name "module.exports"))
