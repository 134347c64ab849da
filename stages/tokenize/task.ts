/**
 * The tokenize stage's unit of work, run in a worker: document text in, BOS + Llama-3 ids of the
 * text as one ordinary string + EOS out, with the loss mask (BOS and EOS are trained).
 */
import { loadLlama3Tokenizer } from './llama3.ts';
import { maskFromSpans } from './mask.ts';

export interface TokenizeTask {
  text: Uint8Array;
  masked: Array<[number, number]>;
  bos: number;
  eos: number;
}

export interface TokenizeResult {
  ids: Int32Array;
  mask: Uint8Array;
}

const decoder = new TextDecoder();

export default async function tokenizeTask(task: TokenizeTask): Promise<TokenizeResult> {
  const tok = await loadLlama3Tokenizer();
  const body = tok.encodeOrdinary(decoder.decode(task.text));
  const bodyMask = maskFromSpans(body, task.masked, (id) => tok.tokenByteLength(id));
  const ids = new Int32Array(body.length + 2);
  ids[0] = task.bos;
  ids.set(body, 1);
  ids[ids.length - 1] = task.eos;
  const mask = new Uint8Array(ids.length);
  mask[0] = 1;
  mask.set(bodyMask, 1);
  mask[mask.length - 1] = 1;
  return { ids, mask };
}
