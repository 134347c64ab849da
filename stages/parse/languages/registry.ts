/**
 * The language registry. A language is a grammar (a tree-sitter WASM file) plus query files
 * whose captures follow one naming convention, so the extractor needs no per-language code:
 *
 * - imports: `@import.node` (the statement or call, one import per node), `@import.source` (the
 *   specifier; quotes are stripped), optional `@import.name` (a name taken from the target),
 *   `@import.default` (binds 'default'), `@import.namespace` (binds '*'); the kind is set with
 *   `(#set! kind "esm")`. Matches on the same `@import.node` are merged.
 * - exports: `@export.node` (for the line) with `@export.name`, or a fixed name via
 *   `(#set! name "default")`; the kind via `(#set! kind "named")`.
 * - definitions: one of `@def.function`, `@def.class`, `@def.method`, `@def.variable` on the
 *   node whose range is the definition (include a wrapping export), with `@def.name` (or
 *   `(#set! name ...)`), optional `@def.params` and `@def.class_name`.
 *
 * Each query file has a scope. 'root' files hold only patterns that start at the root node
 * (`(program ...)`): they run with maxStartDepth 0, which skips the walk over the whole tree
 * (measured 10-20x faster than unanchored patterns). 'anywhere' files hold patterns that can match
 * at any depth (calls, assignments). Files of one scope are compiled as one query.
 *
 * Adding TypeScript or Python means a folder like ./javascript and one line in LANGUAGES.
 */
import { extname } from 'node:path';
import { javascript } from './javascript/index.ts';

export type QueryScope = 'root' | 'anywhere';

export interface LanguageSpec {
  /** Stable id written into FileFacts.language. */
  id: string;
  /** Lower-case extensions with the dot, e.g. '.mjs'. */
  extensions: string[];
  /** Absolute path of the grammar's WASM file. */
  grammarWasm: string;
  /** Grammar package and version, for PARSER_VERSION and reports. */
  grammarVersion: string;
  /** Query sources in a fixed order. */
  queries: Array<{ file: string; scope: QueryScope; source: string }>;
  /** How leading doc comments look in this language. */
  docComment: {
    /** Node types of comments in the grammar. */
    nodeTypes: string[];
    /** A block comment is a doc comment when it starts with this. */
    blockPrefix?: string;
    /** Line comments start with this; consecutive ones directly above are joined. */
    linePrefix?: string;
  };
}

export const LANGUAGES: readonly LanguageSpec[] = [javascript];

const byExtension = new Map<string, LanguageSpec>();
for (const lang of LANGUAGES) for (const ext of lang.extensions) byExtension.set(ext, lang);

export function languageSpecFor(path: string): LanguageSpec | undefined {
  return byExtension.get(extname(path).toLowerCase());
}

/** The language id for a path, or undefined when no registered grammar handles it. */
export function languageFor(path: string): string | undefined {
  return languageSpecFor(path)?.id;
}
