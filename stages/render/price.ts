/**
 * trajectory-price: the Llama-3 token counts of a trajectory's sections, which decide where the
 * cut into parts falls (trajectory.ts). Counting is a full BPE pass over the repository's text, in
 * a worker; cached by the sections' text, a build that changed nothing in a repository (or only
 * another repository) never counts it again. A memo: the cut, and so every document, is the same
 * with or without it.
 */
import { hashCanonicalStrings } from '../../src/key.ts';
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
  key: (i) => ({ inputs: { texts: hashCanonicalStrings(i.texts) }, settings: { tokenizer: 'llama3-bpe' } }),
  // On the tokenizer's threads (same young generation): they hold the vocabulary already, and a
  // set of threads of its own would load it twice more.
  run: (i, ctx) => ctx.pool.run<number[]>(COUNT_TASK, { texts: i.texts }, { item: i.docId, youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB }),
});
