/**
 * The tree-sitter binding: web-tree-sitter (WASM), chosen over the native `tree-sitter` addon by
 * measurement (bench/parse.ts, 2026-11-26, 2 shared cores under load average 2-3, corpus of 162
 * files / 1.88 MB parsed 10 times in piscina; the native row used a variant of task.ts on the addon
 * with the same queries and extractor, which gave identical facts on all 162 files):
 *
 *                      1 worker       2 workers      peak RSS 10 passes vs 1 (1 / 2 workers)
 *   WASM  (run 1)      2.21 MB/s      3.21 MB/s      187 vs 156 MB = 1.20x / 247 vs 210 = 1.18x
 *   WASM  (run 2)      2.25 MB/s      3.71 MB/s      188 vs 157 MB = 1.20x / 249 vs 211 = 1.18x
 *   WASM, quieter      2.57 MB/s      4.52 MB/s (1.76x), V8 default young generation
 *   native             2.48 MB/s      4.39 MB/s      713 vs 189 MB = 3.8x  / 746 vs 232 = 3.2x
 *
 * Per CPU-second both do ~2.0-2.3 MB/s (query matching and extraction cost about as much as
 * parsing), so speed does not decide. Native RSS grows ~57 MB per pass without end (trees are
 * freed only by GC finalizers, and the addon does not report their memory to V8), which a long
 * build cannot afford. WASM's linear memory stays at 36 MB per worker, and a worker's live heap
 * after a forced GC stays at 8.5 MB over 20 passes: what RSS still gains over passes is garbage
 * V8 has not collected yet (heapTotal plateaus at ~35 MB per worker by pass 15). The WASM rows
 * ran with the workers' young generation capped at 8 MB (`resourceLimits:
 * { maxYoungGenerationSizeMb: 8 }`), which the engine's pool should also set: without it V8 takes
 * ~40 MB more headroom per isolate (peak 1.3x; 1 worker plateaus at ~210 MB over 30 passes).
 *
 * Every tree is deleted right after its facts are extracted (`parseWith`): WASM trees live in the
 * module's linear memory and are not garbage collected, so a forgotten delete is a leak.
 * Parsers, languages and compiled queries are created once per thread and kept.
 */
import { Language, type Node, Parser, Query } from 'web-tree-sitter';
import { RetraceError } from '../../src/errors.ts';
import type { LanguageSpec } from './languages/registry.ts';

export { BINDING } from './binding-version.ts';

export interface CompiledQuery {
  query: Query;
  /** Patterns start at the root node only: run with maxStartDepth 0. */
  rootOnly: boolean;
}

export interface LoadedLanguage {
  spec: LanguageSpec;
  parser: Parser;
  /** The query files of each scope compiled as one query, so each group costs one pass. */
  queries: CompiledQuery[];
}

let runtime: Promise<void> | undefined;
const loaded = new Map<string, Promise<LoadedLanguage>>();

/** Loads the grammar and compiles its queries on first use in this thread. */
export function loadLanguage(spec: LanguageSpec): Promise<LoadedLanguage> {
  let lang = loaded.get(spec.id);
  if (!lang) {
    lang = load(spec);
    loaded.set(spec.id, lang);
  }
  return lang;
}

async function load(spec: LanguageSpec): Promise<LoadedLanguage> {
  runtime ??= Parser.init();
  await runtime;
  const language = await Language.load(spec.grammarWasm);
  const parser = new Parser();
  parser.setLanguage(language);
  const queries: CompiledQuery[] = [];
  for (const scope of ['root', 'anywhere'] as const) {
    const files = spec.queries.filter((q) => q.scope === scope);
    if (!files.length) continue;
    try {
      queries.push({ query: new Query(language, files.map((q) => q.source).join('\n')), rootOnly: scope === 'root' });
    } catch (err) {
      throw new RetraceError('PARSE_FAILED', `invalid query for ${spec.id}: ${(err as Error).message}`, {
        item: files.map((q) => q.file).join(', '),
        hint: 'fix the .scm files of this language',
        cause: err,
      });
    }
  }
  return { spec, parser, queries };
}

/** Parses `text`, hands the root node to `use`, and frees the tree whatever happens. */
export function parseWith<T>(lang: LoadedLanguage, text: string, use: (root: Node) => T): T {
  const tree = lang.parser.parse(text);
  if (!tree) throw new Error(`tree-sitter returned no tree for ${lang.spec.id}`);
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}
