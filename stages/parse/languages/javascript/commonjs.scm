; CommonJS exports. Scope: anywhere (UMD wrappers assign inside conditionals and functions).
; Conventions: see ../registry.ts.

; module.exports = ...
((assignment_expression
   left: (member_expression object: (identifier) @_m property: (property_identifier) @_p)) @export.node
  (#eq? @_m "module") (#eq? @_p "exports")
  (#set! kind "cjs-module") (#set! name "module.exports"))

; module.exports = { a, b: 1, c() {} }
((assignment_expression
   left: (member_expression object: (identifier) @_m property: (property_identifier) @_p)
   right: (object [
     (shorthand_property_identifier) @export.name
     (pair key: (property_identifier) @export.name)
     (method_definition name: (property_identifier) @export.name)
   ])) @export.node
  (#eq? @_m "module") (#eq? @_p "exports")
  (#set! kind "cjs-property"))

; exports.x = ...
((assignment_expression
   left: (member_expression object: (identifier) @_e property: (property_identifier) @export.name)) @export.node
  (#eq? @_e "exports")
  (#set! kind "cjs-property"))

; module.exports.x = ...
((assignment_expression
   left: (member_expression
     object: (member_expression object: (identifier) @_m property: (property_identifier) @_p)
     property: (property_identifier) @export.name)) @export.node
  (#eq? @_m "module") (#eq? @_p "exports")
  (#set! kind "cjs-property"))

; Object.defineProperty(exports, 'x', ...) as compilers emit it
((call_expression
   function: (member_expression object: (identifier) @_o property: (property_identifier) @_d)
   arguments: (arguments . (identifier) @_e . (string (string_fragment) @export.name))) @export.node
  (#eq? @_o "Object") (#eq? @_d "defineProperty") (#eq? @_e "exports")
  (#set! kind "cjs-property"))
