/**
 * Fitting a scored text into the scoring model's context: the prefix is cut from the left
 * (what is nearest the target, the thought, stays), and a target longer than half the context
 * is cut from the right (only its first part is scored). Tokens are counted with Llama-3's
 * tokenizer, the model family the data is for; a scorer with another tokenizer needs headroom
 * in `search.scorer.contextTokens`. What was cut is returned so it is recorded.
 */
import { loadLlama3Tokenizer } from '../tokenize/llama3.ts';

/** The generated token (max_tokens 1), and slack for BPE merges across the prefix/target cut. */
const RESERVED = 8;

export interface Fitted {
  prompt: string;
  targetStart: number;
  prefixTokensDropped: number;
  targetTokensDropped: number;
}

export async function fitContext(prompt: string, targetStart: number, contextTokens: number): Promise<Fitted> {
  const budget = contextTokens - RESERVED;
  // A byte-level BPE token covers at least one byte: a prompt with fewer bytes always fits.
  if (Buffer.byteLength(prompt, 'utf8') <= budget) return { prompt, targetStart, prefixTokensDropped: 0, targetTokensDropped: 0 };
  const tok = await loadLlama3Tokenizer();
  const prefix = tok.encodeOrdinary(prompt.slice(0, targetStart));
  const target = tok.encodeOrdinary(prompt.slice(targetStart));
  const targetKeep = Math.min(target.length, budget - Math.min(prefix.length, Math.floor(budget / 2)));
  const prefixKeep = Math.min(prefix.length, budget - targetKeep);
  // A cut may split a multi-byte character: the partial character is dropped.
  const keptPrefix = prefixKeep === prefix.length ? prompt.slice(0, targetStart) : tok.decode(prefix.subarray(prefix.length - prefixKeep)).replace(/^\uFFFD+/, '');
  const keptTarget = targetKeep === target.length ? prompt.slice(targetStart) : tok.decode(target.subarray(0, targetKeep)).replace(/\uFFFD+$/, '');
  return {
    prompt: keptPrefix + keptTarget,
    targetStart: keptPrefix.length,
    prefixTokensDropped: prefix.length - prefixKeep,
    targetTokensDropped: target.length - targetKeep,
  };
}
