/**
 * The language registry. A language is a grammar (a tree-sitter WASM file) plus query files
 * whose captures follow one naming convention, so the extractor needs no per-language code:
 *
 * - imports: `@import.node` (the statement or call, one import per node), `@import.source` (the
 *   specifier; quotes are stripped), optional `@import.name` (a name taken from the target),
 *   `@import.default` (binds 'default'), `@import.namespace` (binds '*'); the kind is set with
 *   `(#set! kind "esm")`; `(#set! typeOnly "true")` marks a type-only import. Matches on the same
 *   `@import.node` are merged. An import below a node of a type in `weakImportInside` is weak.
 * - exports: `@export.node` (for the line) with `@export.name`, or a fixed name via
 *   `(#set! name "default")`; the kind via `(#set! kind "named")`.
 * - definitions: one of `@def.function`, `@def.class`, `@def.method`, `@def.getter`,
 *   `@def.field`, `@def.variable`, `@def.interface`, `@def.type`, `@def.enum` on the node whose
 *   range is the definition (include a wrapping export), with `@def.name` (or
 *   `(#set! name ...)`), optional `@def.params`, `@def.class_name` (the owner) and `@def.doc`
 *   (documentation inside the definition, e.g. a docstring; otherwise a doc comment directly
 *   above is looked for). Two captures of one node and name keep the kind listed first in
 *   extract.ts (a getter over a method).
 *
 * Each query file has a scope. 'root' files hold only patterns that start at the root node
 * (`(program ...)`): they run with maxStartDepth 0, which skips the walk over the whole tree
 * (measured 10-20x faster than unanchored patterns). 'anywhere' files hold patterns that can match
 * at any depth (calls, assignments). Files of one scope are compiled as one query.
 *
 * Adding a language (Go, Rust) means a folder like ./python with its index.ts and query files,
 * one line in LANGUAGES, and an import resolver in stages/graph/resolvers/ (ARCHITECTURE.md).
 */
import { extname } from 'node:path';
import { javascript } from './javascript/index.ts';
import { python } from './python/index.ts';
import { tsx, typescript } from './typescript/index.ts';

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
    /** A block comment directly above a definition is its doc comment when it starts with this. */
    blockPrefix?: string;
  };
  /** Node types below which an import is weak (a function body, a `try`). */
  weakImportInside?: string[];
  /** File name endings of declaration-only files (FileFacts.declarations), e.g. '.d.ts'. */
  declarationSuffixes?: string[];
  /** Human name of the language, for reports and prompts. */
  displayName: string;
}

/** Ordered by id. Each language's parser version covers only its own entry (version.ts). */
export const LANGUAGES: readonly LanguageSpec[] = [javascript, python, tsx, typescript];

const byExtension = new Map<string, LanguageSpec>();
for (const lang of LANGUAGES) for (const ext of lang.extensions) byExtension.set(ext, lang);

export function languageSpecFor(path: string): LanguageSpec | undefined {
  return byExtension.get(extname(path).toLowerCase());
}

/** The language id for a path, or undefined when no registered grammar handles it. */
export function languageFor(path: string): string | undefined {
  return languageSpecFor(path)?.id;
}

/** True when the path is a declaration-only file of its language (`.d.ts`). */
export function isDeclarationFile(path: string): boolean {
  const suffixes = languageSpecFor(path)?.declarationSuffixes ?? [];
  const lower = path.toLowerCase();
  return suffixes.some((s) => lower.endsWith(s));
}

export function languageById(id: string): LanguageSpec | undefined {
  return LANGUAGES.find((l) => l.id === id);
}
