/**
 * FileFacts: what the analysis stage extracts from one source file with tree-sitter. It grounds
 * the simulated trajectory (which files a file reads, what it defines and exports) and feeds the
 * repository graph. Plain JSON data: it crosses the worker boundary and is cached.
 *
 * Bump FACTS_VERSION whenever the shape or meaning of a field changes; it is part of
 * PARSER_VERSION and so of every cache key over facts.
 */
export const FACTS_VERSION = 1;

/**
 * How a module is referenced:
 * - 'esm': a static `import ... from 'x'` or `import 'x'`
 * - 'reexport': `export ... from 'x'`
 * - 'dynamic': `import('x')` with a string literal
 * - 'require': CommonJS `require('x')` with a string literal
 */
export type ImportKind = 'esm' | 'reexport' | 'dynamic' | 'require';

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
 * - 'function': a function or generator declaration
 * - 'class': a class declaration
 * - 'method': a method of a top-level class (see className)
 * - 'variable': a variable bound to a function, arrow function or class expression
 */
export type DefinitionKind = 'function' | 'class' | 'method' | 'variable';

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
  /** A JSDoc block or run of line comments directly above, whitespace-trimmed. */
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
}
