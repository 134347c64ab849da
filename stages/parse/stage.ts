/**
 * parse: one item per source file of a language with a registered grammar. Keyed by the file's
 * content hash, its language and that language's parser version (binding, grammar, queries,
 * extractor; version.ts), so a new or edited language leaves other languages' facts cached; the
 * tree-sitter work runs in the worker pool.
 */
import { defineStage } from '../../src/stage.ts';
import type { ContentHash } from '../../src/hash.ts';
import { parserVersionFor } from './version.ts';
import type { FileFacts } from './facts.ts';
import type { ParseTaskInput } from './task.ts';

const TASK = new URL('./task.ts', import.meta.url).href;
/** Keeps parser workers' RSS flat over long runs (bench/parse.ts; src/pool.ts). */
export const PARSE_YOUNG_GENERATION_MB = 8;

export interface ParseInput {
  repo: string;
  path: string;
  hash: ContentHash;
  language: string;
}

export const parseStage = defineStage<ParseInput, FileFacts>({
  name: 'parse',
  version: '1',
  deps: ['ingest'],
  description: 'tree-sitter facts per file: imports, exports, definitions, syntax errors',
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({ inputs: { content: i.hash }, settings: { language: i.language, parser: parserVersionFor(i.language) } }),
  async run(i, ctx) {
    // The bytes go to the worker in a buffer of their own (moved, not cloned) and are decoded there.
    const bytes = new Uint8Array(await ctx.getBlob(i.hash)).buffer;
    const task: ParseTaskInput = { path: i.path, bytes };
    return ctx.pool.run<FileFacts>(TASK, task, { transfer: [bytes], item: `${i.repo}:${i.path}`, youngGenerationMb: PARSE_YOUNG_GENERATION_MB });
  },
});
