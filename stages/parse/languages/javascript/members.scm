; Members defined outside class syntax: CommonJS prototype methods, methods of top-level object
; literals, getters defined by call. Scope: root (statements of the program). Shared by
; JavaScript and TypeScript. Conventions: see ../registry.ts.

; X.prototype.m = function () {} / () => {}
(program (expression_statement (assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @def.class_name property: (property_identifier) @_p)
    property: (property_identifier) @def.name)
  right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
          (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)])) @def.method
  (#eq? @_p "prototype"))

; app.m = function () {} (an object's method, as express's application.js writes its API);
; req.get = req.header = function header() {} defines both names
(program (expression_statement (assignment_expression
  left: (member_expression object: (identifier) @def.class_name property: (property_identifier) @def.name)
  right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
          (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)])) @def.method
  (#not-match? @def.class_name "^(exports|module)$"))
(program (expression_statement (assignment_expression
  right: (assignment_expression
    left: (member_expression object: (identifier) @def.class_name property: (property_identifier) @def.name)
    right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
            (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)]))) @def.method
  (#not-match? @def.class_name "^(exports|module)$"))
(program (expression_statement (assignment_expression
  left: (member_expression object: (identifier) @def.class_name property: (property_identifier) @def.name)
  right: (assignment_expression
    right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
            (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)]))) @def.method
  (#not-match? @def.class_name "^(exports|module)$"))

; exports.f = function () {}; module.exports.f = function () {}
(program (expression_statement (assignment_expression
  left: (member_expression object: (identifier) @_e property: (property_identifier) @def.name)
  right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
          (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)])) @def.function
  (#eq? @_e "exports"))
(program (expression_statement (assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @_m property: (property_identifier) @_x)
    property: (property_identifier) @def.name)
  right: [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
          (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)])) @def.function
  (#eq? @_m "module") (#eq? @_x "exports"))

; Methods of an object literal assigned at the top level: module.exports = { m() {} },
; X.prototype = { m: function () {} }, var api = { m: () => {} }; getters among them
(program (expression_statement (assignment_expression
  left: (_) @def.class_name
  right: (object (method_definition name: (_) @def.name parameters: (_) @def.params) @def.method))))
(program (expression_statement (assignment_expression
  left: (_) @def.class_name
  right: (object (method_definition "get" name: (_) @def.name) @def.getter))))
(program (expression_statement (assignment_expression
  left: (_) @def.class_name
  right: (object (pair key: (_) @def.name value: [
    (function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
    (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)]) @def.method))))
(program [(lexical_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (method_definition name: (_) @def.name parameters: (_) @def.params) @def.method)))
          (variable_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (method_definition name: (_) @def.name parameters: (_) @def.params) @def.method)))])
(program [(lexical_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (method_definition "get" name: (_) @def.name) @def.getter)))
          (variable_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (method_definition "get" name: (_) @def.name) @def.getter)))])
(program [(lexical_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (pair key: (_) @def.name value: [
              (function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
              (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)]) @def.method)))
          (variable_declaration (variable_declarator name: (identifier) @def.class_name
            value: (object (pair key: (_) @def.name value: [
              (function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)
              (arrow_function parameter: (_) @def.params) (generator_function parameters: (_) @def.params)]) @def.method)))])

; Object.defineProperty(o, 'x', { get: ... }); defineGetter(o, 'x', function () {}) (express);
; o.__defineGetter__('x', function () {})
(program (expression_statement (call_expression
  function: (member_expression object: (identifier) @_o property: (property_identifier) @_d)
  arguments: (arguments . (identifier) @def.class_name . (string (string_fragment) @def.name)
    . (object (pair key: (property_identifier) @_g))))) @def.getter
  (#eq? @_o "Object") (#eq? @_d "defineProperty") (#eq? @_g "get"))
(program (expression_statement (call_expression
  function: (identifier) @_fn
  arguments: (arguments . (_) @def.class_name . (string (string_fragment) @def.name)
    . [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)]))) @def.getter
  (#match? @_fn "^define_?[Gg]etter$"))
(program (expression_statement (call_expression
  function: (member_expression object: (_) @def.class_name property: (property_identifier) @_fn)
  arguments: (arguments . (string (string_fragment) @def.name)
    . [(function_expression parameters: (_) @def.params) (arrow_function parameters: (_) @def.params)]))) @def.getter
  (#eq? @_fn "__defineGetter__"))
