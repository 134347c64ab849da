/**
 * Piscina worker: Llama-3 ids of one text, encoded as ordinary text. The tokenizer loads once
 * per worker thread (memoised); the ids' buffer is transferred back, not copied.
 */
import { Piscina } from 'piscina';
import { loadLlama3Tokenizer } from './llama3.ts';

export default async function tokenize(text: string): Promise<Int32Array> {
  const ids = (await loadLlama3Tokenizer()).encodeOrdinary(text);
  return Piscina.move(ids) as unknown as Int32Array;
}
