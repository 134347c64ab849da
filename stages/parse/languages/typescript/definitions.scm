; TypeScript top-level definitions and members of top-level classes and interfaces.
; Conventions: see ../registry.ts. Each pattern matches the bare declaration, the declaration
; wrapped in `export` and in `declare` (whose range it takes).

(program [
  (function_declaration name: (identifier) @def.name parameters: (_) @def.params)
  (generator_function_declaration name: (identifier) @def.name parameters: (_) @def.params)
  (function_signature name: (identifier) @def.name parameters: (_) @def.params)
  (ambient_declaration (function_signature name: (identifier) @def.name parameters: (_) @def.params))
  (export_statement declaration: [
    (function_declaration name: (identifier) @def.name parameters: (_) @def.params)
    (generator_function_declaration name: (identifier) @def.name parameters: (_) @def.params)
    (function_signature name: (identifier) @def.name parameters: (_) @def.params)
    (ambient_declaration (function_signature name: (identifier) @def.name parameters: (_) @def.params))
  ])
] @def.function)
((program (export_statement value: [
  (function_expression !name parameters: (_) @def.params)
  (generator_function !name parameters: (_) @def.params)
  (arrow_function parameters: (_) @def.params)
  (arrow_function parameter: (_) @def.params)
]) @def.function)
  (#set! name "default"))

; classes (abstract included) and their methods, getters and fields
(program [
  (class_declaration name: (_) @def.name)
  (abstract_class_declaration name: (_) @def.name)
  (ambient_declaration [(class_declaration name: (_) @def.name) (abstract_class_declaration name: (_) @def.name)])
  (export_statement declaration: [
    (class_declaration name: (_) @def.name)
    (abstract_class_declaration name: (_) @def.name)
    (ambient_declaration [(class_declaration name: (_) @def.name) (abstract_class_declaration name: (_) @def.name)])
  ])
] @def.class)
(program [
  (class_declaration name: (_) @def.class_name body: (class_body [
    (method_definition name: (_) @def.name parameters: (_) @def.params)
    (abstract_method_signature name: (_) @def.name parameters: (_) @def.params)
    (method_signature name: (_) @def.name parameters: (_) @def.params)] @def.method))
  (abstract_class_declaration name: (_) @def.class_name body: (class_body [
    (method_definition name: (_) @def.name parameters: (_) @def.params)
    (abstract_method_signature name: (_) @def.name parameters: (_) @def.params)
    (method_signature name: (_) @def.name parameters: (_) @def.params)] @def.method))
  (export_statement declaration: [
    (class_declaration name: (_) @def.class_name body: (class_body [
      (method_definition name: (_) @def.name parameters: (_) @def.params)
      (abstract_method_signature name: (_) @def.name parameters: (_) @def.params)
      (method_signature name: (_) @def.name parameters: (_) @def.params)] @def.method))
    (abstract_class_declaration name: (_) @def.class_name body: (class_body [
      (method_definition name: (_) @def.name parameters: (_) @def.params)
      (abstract_method_signature name: (_) @def.name parameters: (_) @def.params)
      (method_signature name: (_) @def.name parameters: (_) @def.params)] @def.method))
  ])
])
(program [
  (class_declaration name: (_) @def.class_name body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter))
  (abstract_class_declaration name: (_) @def.class_name body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter))
  (export_statement declaration: [
    (class_declaration name: (_) @def.class_name body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter))
    (abstract_class_declaration name: (_) @def.class_name body: (class_body (method_definition "get" name: (_) @def.name parameters: (_) @def.params) @def.getter))
  ])
])
(program [
  (class_declaration name: (_) @def.class_name body: (class_body (public_field_definition name: (_) @def.name) @def.field))
  (abstract_class_declaration name: (_) @def.class_name body: (class_body (public_field_definition name: (_) @def.name) @def.field))
  (export_statement declaration: [
    (class_declaration name: (_) @def.class_name body: (class_body (public_field_definition name: (_) @def.name) @def.field))
    (abstract_class_declaration name: (_) @def.class_name body: (class_body (public_field_definition name: (_) @def.name) @def.field))
  ])
])

; interfaces (and their method signatures), type aliases, enums
(program [
  (interface_declaration name: (_) @def.name)
  (ambient_declaration (interface_declaration name: (_) @def.name))
  (export_statement declaration: [(interface_declaration name: (_) @def.name)
                                  (ambient_declaration (interface_declaration name: (_) @def.name))])
] @def.interface)
(program [
  (interface_declaration name: (_) @def.class_name body: (interface_body (method_signature name: (_) @def.name parameters: (_) @def.params) @def.method))
  (export_statement declaration: (interface_declaration name: (_) @def.class_name
    body: (interface_body (method_signature name: (_) @def.name parameters: (_) @def.params) @def.method)))
])
(program [
  (type_alias_declaration name: (_) @def.name)
  (ambient_declaration (type_alias_declaration name: (_) @def.name))
  (export_statement declaration: [(type_alias_declaration name: (_) @def.name)
                                  (ambient_declaration (type_alias_declaration name: (_) @def.name))])
] @def.type)
(program [
  (enum_declaration name: (_) @def.name)
  (ambient_declaration (enum_declaration name: (_) @def.name))
  (export_statement declaration: [(enum_declaration name: (_) @def.name)
                                  (ambient_declaration (enum_declaration name: (_) @def.name))])
] @def.enum)

; const f = () => {}; let g = function () {}; var C = class {} (bare, exported, declared)
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
  (export_statement declaration: [
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
  ])
] @def.variable)
