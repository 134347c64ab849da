; import('x') and require('x'). Scope: anywhere (calls occur at any depth).
; Conventions: see ../registry.ts.

; import('x')
((call_expression function: (import)
   arguments: (arguments . (string (string_fragment) @import.source))) @import.node
  (#set! kind "dynamic"))

; require('x'), with the names it binds when the result is destructured, assigned or accessed
((call_expression function: (identifier) @_fn
   arguments: (arguments . (string (string_fragment) @import.source) .)) @import.node
  (#eq? @_fn "require") (#set! kind "require"))
((variable_declarator name: (identifier) @import.namespace
   value: (call_expression function: (identifier) @_fn
     arguments: (arguments . (string (string_fragment) @import.source) .)) @import.node)
  (#eq? @_fn "require") (#set! kind "require"))
((variable_declarator
   name: (object_pattern [
     (shorthand_property_identifier_pattern) @import.name
     (pair_pattern key: (property_identifier) @import.name)
     (object_assignment_pattern left: (shorthand_property_identifier_pattern) @import.name)
   ])
   value: (call_expression function: (identifier) @_fn
     arguments: (arguments . (string (string_fragment) @import.source) .)) @import.node)
  (#eq? @_fn "require") (#set! kind "require"))
((member_expression
   object: (call_expression function: (identifier) @_fn
     arguments: (arguments . (string (string_fragment) @import.source) .)) @import.node
   property: (property_identifier) @import.name)
  (#eq? @_fn "require") (#set! kind "require"))
