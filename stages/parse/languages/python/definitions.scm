; Python definitions: module-level functions, classes and assignments; methods, properties and
; class attributes of module-level classes. Docstrings (the first statement of a body, when it is
; a string) are captured as @def.doc. Decorated definitions take the decorators' range.
; Scope: root. Conventions: see ../registry.ts.

(module (function_definition name: (identifier) @def.name parameters: (_) @def.params
  body: (block . (expression_statement . (string) @def.doc)?)) @def.function)
(module (decorated_definition definition: (function_definition name: (identifier) @def.name parameters: (_) @def.params
  body: (block . (expression_statement . (string) @def.doc)?))) @def.function)

(module (class_definition name: (identifier) @def.name
  body: (block . (expression_statement . (string) @def.doc)?)) @def.class)
(module (decorated_definition definition: (class_definition name: (identifier) @def.name
  body: (block . (expression_statement . (string) @def.doc)?))) @def.class)

; methods, @property getters and class attributes of module-level classes (decorated or not)
(module [(class_definition name: (identifier) @def.class_name body: (block
           (function_definition name: (identifier) @def.name parameters: (_) @def.params
             body: (block . (expression_statement . (string) @def.doc)?)) @def.method))
         (decorated_definition definition: (class_definition name: (identifier) @def.class_name body: (block
           (function_definition name: (identifier) @def.name parameters: (_) @def.params
             body: (block . (expression_statement . (string) @def.doc)?)) @def.method)))])
(module [(class_definition name: (identifier) @def.class_name body: (block
           (decorated_definition definition: (function_definition name: (identifier) @def.name parameters: (_) @def.params
             body: (block . (expression_statement . (string) @def.doc)?))) @def.method))
         (decorated_definition definition: (class_definition name: (identifier) @def.class_name body: (block
           (decorated_definition definition: (function_definition name: (identifier) @def.name parameters: (_) @def.params
             body: (block . (expression_statement . (string) @def.doc)?))) @def.method)))])
((module [(class_definition name: (identifier) @def.class_name body: (block
           (decorated_definition (decorator [(identifier) @_d (attribute attribute: (identifier) @_d)])
             definition: (function_definition name: (identifier) @def.name parameters: (_) @def.params
               body: (block . (expression_statement . (string) @def.doc)?))) @def.getter))
         (decorated_definition definition: (class_definition name: (identifier) @def.class_name body: (block
           (decorated_definition (decorator [(identifier) @_d (attribute attribute: (identifier) @_d)])
             definition: (function_definition name: (identifier) @def.name parameters: (_) @def.params
               body: (block . (expression_statement . (string) @def.doc)?))) @def.getter)))])
  (#match? @_d "^(property|cached_property)$"))
(module [(class_definition name: (identifier) @def.class_name body: (block
           (expression_statement (assignment left: (identifier) @def.name)) @def.field))
         (decorated_definition definition: (class_definition name: (identifier) @def.class_name body: (block
           (expression_statement (assignment left: (identifier) @def.name)) @def.field)))])

; NAME = ... and NAME: T = ... at module level
(module (expression_statement (assignment left: (identifier) @def.name)) @def.variable)
