/**
 * trajectory-price: the Llama-3 token counts of a trajectory's sections, which decide where the
 * cut into parts falls (trajectory.ts). Counting is a full BPE pass over the repository's text, in
 * a worker; cached by the sections' text, a build that changed nothing in a repository (or only
 * another repository) never counts it again. A memo: the cut, and so every document, is the same
 * with or without it.
 */
import { hashCanonicalList } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import { TOKENIZE_YOUNG_GENERATION_MB } from '../tokenize/stage.ts';

const COUNT_TASK = new URL('./count-task.ts', import.meta.url).href;

export interface PriceInput {
  /** The repository's document id (the item). */
  docId: string;
  /** The sections to count, in order. */
  texts: string[];
}

export const priceStage = defineStage<PriceInput, number[]>({
  name: 'trajectory-price',
  version: '1',
  deps: ['implement'],
  description: "Llama-3 token counts of a trajectory's sections (where its cut into parts falls), cached by their text",
  memo: true,
  item: (i) => i.docId,
  // hashText(canonicalJson(texts)), streamed: the same key without the whole text serialised at once.
  key: (i) => ({ inputs: { texts: hashCanonicalList(i.texts) }, settings: { tokenizer: 'llama3-bpe' } }),
  // On the tokenizer's threads (same young generation): they hold the vocabulary already, and a
  // set of threads of its own would load it twice more.
  // In batches of about PRICE_BATCH_CHARS (on every thread at once): a worker holds one batch
  // of a repository's sections, not all of them (issue 17: a large repository's sections, tens of
  // MB, grew a tokenizer thread's heap to 145 MB for the rest of the build).
  run: async (i, ctx) => {
    const counts = await Promise.all(
      priceBatches(i.texts).map((texts) => ctx.pool.run<number[]>(COUNT_TASK, { texts }, { item: i.docId, youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB })),
    );
    return counts.flat();
  },
});

/** Characters of sections per counting task (a section longer than this is a task of its own). */
export const PRICE_BATCH_CHARS = 4 * 1024 * 1024;

/** The sections in consecutive batches of at most PRICE_BATCH_CHARS characters (at least one section each). */
export function priceBatches(texts: readonly string[]): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let chars = 0;
  for (const t of texts) {
    if (batch.length > 0 && chars + t.length > PRICE_BATCH_CHARS) {
      batches.push(batch);
      batch = [];
      chars = 0;
    }
    batch.push(t);
    chars += t.length;
  }
  if (batch.length > 0 || batches.length === 0) batches.push(batch);
  return batches;
}
