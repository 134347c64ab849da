; Python's explicit public names: __all__ = [...] or (...). Scope: root. Conventions: ../registry.ts.
((module (expression_statement (assignment left: (identifier) @_a
   right: [(list (string (string_content) @export.name)) (tuple (string (string_content) @export.name))])) @export.node)
  (#eq? @_a "__all__") (#set! kind "named"))
