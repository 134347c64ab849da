; Top-level definitions and methods of top-level classes. Conventions: see ../registry.ts.
; Each pattern appears twice: bare, and wrapped in an export statement whose range it takes.

(program (function_declaration name: (identifier) @def.name parameters: (_) @def.params) @def.function)
(program (generator_function_declaration name: (identifier) @def.name parameters: (_) @def.params) @def.function)
(program (export_statement declaration: [
  (function_declaration name: (identifier) @def.name parameters: (_) @def.params)
  (generator_function_declaration name: (identifier) @def.name parameters: (_) @def.params)
]) @def.function)
((program (export_statement value: [
  (function_expression !name parameters: (_) @def.params)
  (generator_function !name parameters: (_) @def.params)
  (arrow_function parameters: (_) @def.params)
  (arrow_function parameter: (_) @def.params)
]) @def.function)
  (#set! name "default"))

(program (class_declaration name: (identifier) @def.name) @def.class)
(program (export_statement declaration: (class_declaration name: (identifier) @def.name)) @def.class)

(program (class_declaration name: (identifier) @def.class_name
  body: (class_body (method_definition name: (_) @def.name parameters: (_) @def.params) @def.method)))
(program (export_statement declaration: (class_declaration name: (identifier) @def.class_name
  body: (class_body (method_definition name: (_) @def.name parameters: (_) @def.params) @def.method))))

; getters (`get x()`) and fields (`x = 1`, `static y`, `#z`) of top-level classes
(program [(class_declaration name: (identifier) @def.class_name
           body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter))
          (export_statement declaration: (class_declaration name: (identifier) @def.class_name
           body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter)))])
(program [(class_declaration name: (identifier) @def.class_name
           body: (class_body (field_definition property: (_) @def.name) @def.field))
          (export_statement declaration: (class_declaration name: (identifier) @def.class_name
           body: (class_body (field_definition property: (_) @def.name) @def.field)))])

; const f = () => {}; let g = function () {}; var C = class {}
(program [
  (lexical_declaration (variable_declarator name: (identifier) @def.name value: [
    (arrow_function parameters: (_) @def.params)
    (arrow_function parameter: (_) @def.params)
    (function_expression parameters: (_) @def.params)
    (generator_function parameters: (_) @def.params)
    (class)
  ]))
  (variable_declaration (variable_declarator name: (identifier) @def.name value: [
    (arrow_function parameters: (_) @def.params)
    (arrow_function parameter: (_) @def.params)
    (function_expression parameters: (_) @def.params)
    (generator_function parameters: (_) @def.params)
    (class)
  ]))
] @def.variable)
(program (export_statement declaration: [
  (lexical_declaration (variable_declarator name: (identifier) @def.name value: [
    (arrow_function parameters: (_) @def.params)
    (arrow_function parameter: (_) @def.params)
    (function_expression parameters: (_) @def.params)
    (generator_function parameters: (_) @def.params)
    (class)
  ]))
  (variable_declaration (variable_declarator name: (identifier) @def.name value: [
    (arrow_function parameters: (_) @def.params)
    (arrow_function parameter: (_) @def.params)
    (function_expression parameters: (_) @def.params)
    (generator_function parameters: (_) @def.params)
    (class)
  ]))
]) @def.variable)
