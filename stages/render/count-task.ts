/**
 * Worker task: Llama-3 token counts of texts (the sections a trajectory's cut is priced with).
 * Run in the pool so pricing a large repository never blocks the main thread, where LLM calls
 * of other repositories are in flight.
 */
import { loadLlama3Tokenizer } from '../tokenize/llama3.ts';

export default async function countTokens(input: { texts: string[] }): Promise<number[]> {
  const tok = await loadLlama3Tokenizer();
  return input.texts.map((t) => tok.countOrdinary(t));
}
