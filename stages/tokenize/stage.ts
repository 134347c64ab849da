/**
 * tokenize: one item per document. Keyed by the text's content hash, the masked spans, the
 * tokenizer's identity (vocabulary, split pattern, implementation) and the pinned BOS/EOS ids.
 * The ids and the mask are stored as blobs (little-endian int32 / uint8). A document over
 * PIECE_BYTES is tokenized as pieces in parallel, cut where the ids stay those of the whole
 * (pieces.ts): same ids, same blobs, same key.
 */
import type { TaskPool } from '../../src/pool.ts';
import { defineStage } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import type { RenderedDoc } from '../render/document.ts';
import type { TokenizeResult } from './task.ts';
import { tokenizePiecewise } from './pieces.ts';

const TASK = new URL('./task.ts', import.meta.url).href;
/**
 * Young generation of the tokenizer's threads (src/pool.ts). 64 MB was chosen against V8's
 * default sizing; against 16 MB it costs memory, not CPU: one thread tokenizing 12 MB of corpus
 * text (3.07M tokens) in 256 KiB tasks took 2.04-2.57 CPU-s with 64 MB and 2.02-2.35 with 16 MB
 * (three runs each, load 15), with heapTotal peaks of 114 vs 67 MB per thread.
 */
export const TOKENIZE_YOUNG_GENERATION_MB = 16;

const WARM_TASK = new URL('./warm-task.ts', import.meta.url).href;
const warmed = new WeakSet<TaskPool>();

/**
 * Starts a tokenizer thread and decodes the vocabulary in it, once per pool, without waiting: a
 * repository's chain calls it when it starts, so a one-line edit's tokenize task finds the thread
 * ready instead of starting it after the parse (~0.15 s of wall time; the CPU is spent either way).
 * A build answered from its memos runs no chain and starts nothing.
 */
export function warmTokenizer(pool: TaskPool): void {
  if (warmed.has(pool)) return;
  warmed.add(pool);
  pool.run(WARM_TASK, {}, { youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB }).catch(() => undefined); // the tokenize task reports any failure itself
}

export interface TokenizeInput {
  doc: RenderedDoc;
  tokenizerId: string;
  bos: number;
  eos: number;
}

export interface TokenizedRef {
  id: string;
  repo: string;
  text: ContentHash;
  ids: ContentHash;
  mask: ContentHash;
  tokens: number;
  /** Tokens with loss_mask 1. */
  trained: number;
}

export const tokenizeStage = defineStage<TokenizeInput, TokenizedRef>({
  name: 'tokenize',
  version: '1',
  deps: ['render'],
  description: 'exact Llama-3 ids (BOS + text as ordinary text + EOS) and the loss mask, in worker threads',
  item: (i) => i.doc.id,
  key: (i) => ({
    inputs: { text: i.doc.text, masked: hashText(JSON.stringify(i.doc.masked)) },
    settings: { tokenizer: i.tokenizerId, bos: i.bos, eos: i.eos, docId: i.doc.id, repo: i.doc.repo },
  }),
  async run(i, ctx) {
    const text = await ctx.getBlob(i.doc.text);
    // The text is a fresh copy from the cache (and pieces are copies): move them to the workers.
    const r = await tokenizePiecewise(text, i.doc.masked, i.bos, i.eos, (task) => ctx.pool.run<TokenizeResult>(TASK, task, {
      item: i.doc.id,
      transfer: [task.text.buffer],
      youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB,
    }));
    const ids = await ctx.putBlob(new Uint8Array(r.ids.buffer, r.ids.byteOffset, r.ids.byteLength));
    const mask = await ctx.putBlob(r.mask);
    let trained = 0;
    for (let k = 0; k < r.mask.length; k++) trained += r.mask[k];
    return { id: i.doc.id, repo: i.doc.repo, text: i.doc.text, ids, mask, tokens: r.ids.length, trained };
  },
});

/** Int32 ids from a blob (copied to an aligned buffer). */
export function idsFromBlob(bytes: Uint8Array): Int32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Int32Array(copy.buffer);
}
