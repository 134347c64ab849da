/**
 * Loads the tokenizer (its vocabulary decoded) in a tokenizer thread ahead of the first document,
 * while the repository's files are still being parsed: `warmTokenizer` in stage.ts.
 */
import { loadLlama3Tokenizer } from './llama3.ts';

export default async function warmTask(): Promise<boolean> {
  await loadLlama3Tokenizer();
  return true;
}
