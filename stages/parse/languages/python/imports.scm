; Python imports. Scope: anywhere (imports inside functions and `try` blocks are found too; the
; extractor marks those weak, see weakImportInside in index.ts). Conventions: see ../registry.ts.

; import a.b.c; import a.b as c (one fact per imported module)
(import_statement name: (dotted_name) @import.source @import.node @import.namespace
  (#set! kind "py-import"))
(import_statement name: (aliased_import name: (dotted_name) @import.source @import.node @import.namespace)
  (#set! kind "py-import"))

; from a.b import c, d as e; from . import x; from ..a import *
((import_from_statement module_name: (_) @import.source name: (dotted_name) @import.name) @import.node
  (#set! kind "py-from"))
((import_from_statement module_name: (_) @import.source name: (aliased_import name: (dotted_name) @import.name)) @import.node
  (#set! kind "py-from"))
((import_from_statement module_name: (_) @import.source (wildcard_import) @import.namespace) @import.node
  (#set! kind "py-from"))
