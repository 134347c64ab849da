/**
 * FileFacts: what the analysis stage extracts from one source file with tree-sitter. It grounds
 * the simulated trajectory (which files a file reads, what it defines and exports) and feeds the
 * repository graph. Plain JSON data: it crosses the worker boundary and is cached.
 *
 * Bump FACTS_VERSION whenever the shape or meaning of a field changes; it is part of
 * PARSER_VERSION and so of every cache key over facts.
 */
export const FACTS_VERSION = 2;

/**
 * How a module is referenced:
 * - 'esm': a static `import ... from 'x'` or `import 'x'`
 * - 'reexport': `export ... from 'x'`
 * - 'dynamic': `import('x')` with a string literal
 * - 'require': CommonJS `require('x')` with a string literal; TypeScript `import x = require('x')`
 * - 'py-import': Python `import a.b.c` (the specifier is the dotted name; one fact per name)
 * - 'py-from': Python `from a.b import c, d` or `from ..a import c` (the specifier is the module
 *   part as written, dots included; names are what follows `import`)
 */
export type ImportKind = 'esm' | 'reexport' | 'dynamic' | 'require' | 'py-import' | 'py-from';

export interface ImportFact {
  kind: ImportKind;
  /** The module specifier exactly as written, without quotes. */
  specifier: string;
  /**
   * Names taken from the target, sorted: a named export, 'default', or '*' for a namespace
   * (`import * as ns`, `export * from`, `const m = require('x')`). Absent when nothing is bound
   * (`import 'x'`) or the use is not statically known (`import('x')`, `f(require('x'))`).
   */
  names?: string[];
  /** 1-based line of the import statement or call. */
  line: number;
  /**
   * A weak import: inside a function, or inside a `try` (as in `try: import x / except
   * ImportError`). It breaks ties and cycles in the implementation order, never forces a file
   * before its importer. Absent for ordinary imports (and for every JavaScript import).
   */
  weak?: true;
  /** TypeScript `import type` / `export type ... from`: a type-only dependency. */
  typeOnly?: true;
}

/**
 * - 'named': `export const/function/class x`, `export { a, b as c }`
 * - 'default': `export default ...` (name 'default')
 * - 'reexport': `export { a } from 'x'` (name a), `export * from 'x'` (name '*')
 * - 'cjs-module': `module.exports = ...` (name 'module.exports')
 * - 'cjs-property': `exports.x = ...`, `module.exports.x = ...`, a key of an object literal
 *   assigned to `module.exports`, `Object.defineProperty(exports, 'x', ...)` (name x)
 */
export type ExportKind = 'named' | 'default' | 'reexport' | 'cjs-module' | 'cjs-property';

export interface ExportFact {
  kind: ExportKind;
  name: string;
  /** 1-based line of the statement. */
  line: number;
}

/**
 * - 'function': a function or generator declaration (also a TypeScript overload or `declare
 *   function` signature; CommonJS `exports.f = function`)
 * - 'class': a class declaration
 * - 'method': a method of a top-level class, an interface's method signature, a CommonJS
 *   prototype method (`X.prototype.m = function`, `app.m = function`) or a method of a
 *   top-level object literal (`module.exports = { m() {} }`); className is the owner as written
 * - 'getter': `get x()` in a class or object literal, a Python `@property`, a getter defined with
 *   `Object.defineProperty(o, 'x', { get })` or an express-style `defineGetter(o, 'x', fn)`
 * - 'field': a class field (`x = 1`, `static y`, `private z: T`; Python class-body assignments)
 * - 'variable': JavaScript/TypeScript: a variable bound to a function, arrow function or class
 *   expression; Python: a module-level assignment
 * - 'interface', 'type', 'enum': TypeScript declarations
 */
export type DefinitionKind =
  | 'function'
  | 'class'
  | 'method'
  | 'getter'
  | 'field'
  | 'variable'
  | 'interface'
  | 'type'
  | 'enum';

export interface DefinitionFact {
  kind: DefinitionKind;
  /** 'default' for an anonymous `export default function () {}`. */
  name: string;
  /** Set for methods: the enclosing class. */
  className?: string;
  /** 1-based, inclusive; covers a wrapping `export` statement. */
  startLine: number;
  endLine: number;
  /** The parameter list as written, e.g. "(a, { b } = {})"; absent for classes. */
  params?: string;
  /**
   * The documentation as written, whitespace-trimmed: a JSDoc block (`/** ... *\/`) directly
   * above the definition, or a Python docstring (the first statement of the body). Line comments,
   * TODO notes and plain block comments are not documentation.
   */
  doc?: string;
}

export interface FileFacts {
  factsVersion: typeof FACTS_VERSION;
  /** Language id from the registry, e.g. 'javascript'. */
  language: string;
  /** In source order (by line, then specifier). */
  imports: ImportFact[];
  /** In source order (by line, then name). */
  exports: ExportFact[];
  /** In source order (by start line, then name). Only top level and methods of top-level classes. */
  definitions: DefinitionFact[];
  /** Number of ERROR and MISSING nodes; facts are still extracted from the rest of the tree. */
  syntaxErrors: number;
  /** Number of lines; a trailing newline does not start a new line. */
  lineCount: number;
  /** A TypeScript declaration file (`.d.ts`, `.d.mts`, `.d.cts`): types only, no code. */
  declarations?: true;
}
