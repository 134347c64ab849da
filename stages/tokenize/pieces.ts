/**
 * A large document is tokenized as pieces in parallel (one worker task per piece), cut only
 * where the ids of the pieces, concatenated, are the ids of the whole document.
 *
 * Why a cut is safe. Ids are the concatenation of the BPE of each pre-token (the matches of the
 * split pattern, pretokenize.ts), so pieces give the whole's ids iff their pre-tokens, end to
 * end, are the whole's. Every character starts some match (whitespace: `\s+`; letter, digit,
 * other: alternatives 2, 3, 4) and no alternative matches the empty string, so matches tile the
 * text. Cut the text at byte b (a < b: the piece [a, b)). Two facts suffice:
 *  (1) b is a boundary of the whole's pre-tokens, i.e. no match contains both b-1 and b;
 *  (2) a match starting at a boundary s < b is the same in text[s:b] as in text[s:].
 * With (1) at a and b, induction over the matches in [a, b) gives the piece's pre-tokens. Nothing
 * looks behind, so removing text before a changes nothing. For (2): the engine (JS and Rust
 * alike) returns the first successful path in a fixed priority order. A path ending at t <= b
 * reads only text[s:t] and, for `(?!\S)` (alternative 6 only), the character at t. Truncating
 * at b drops the paths that end after b and makes one new kind valid: alternative 6 ending at b
 * over all-whitespace text[s:b] (the lookahead now sees the end). The whole's winner ends <= b by
 * (1), so it stays valid and beats every other old path; it also beats a new alternative-6 path
 * if text[b-1] is not whitespace (no such path), or if text[b-1] is \r or \n (then
 * `\s*[\r\n]+`, alternative 5, matches text[s:b] in both texts and ranks first).
 *
 * The cuts, each with (1) and with text[b-1] not whitespace or a line end:
 *  - R1: text[b-1] is \r or \n and text[b] is not whitespace (printable ASCII, or a non-ASCII
 *    character outside Unicode White_Space, which pretokenize.ts spells out as Rust has it; not
 *    U+FEFF either, which decoding would drop at the start of a piece). A match holding \r/\n
 *    is whitespace-only (alternatives 5-7, which cannot take text[b]) or alternative 4, whose
 *    `[\r\n]*` tail ends it at the first non-line-end; `[^\r\n...]?` of alternative 2 excludes
 *    them.
 *  - R2: text[b-1] is an ASCII letter, text[b] is ASCII and not a letter. Letters occur only in
 *    the trailing letter run of alternatives 1 and 2, which text[b] cannot continue.
 *  - R3: text[b-1] is an ASCII digit, text[b] is ASCII and not a digit. Digits occur only in
 *    `\p{N}{1,3}`. A digit run is never cut inside: its 3-digit chunks count from its start.
 * No rule depends on \p{L} or \p{N} beyond ASCII, whose tables differ between V8 and tiktoken's
 * Rust (pretokenize.ts). Every cut has an ASCII byte before it, which in UTF-8 is never part of a
 * multi-byte character: the rules read bytes, and each piece is valid UTF-8 on its own.
 *
 * Masks: a token's mask depends on the byte offset of its first byte. Each piece gets the spans
 * shifted by its start, which equals the whole's offset when the text's UTF-8 decodes losslessly
 * (valid UTF-8, no leading BOM that TextDecoder would drop); otherwise the document is one task.
 * test/tokenize-pieces.test.ts checks all of this against the whole encoding and tiktoken.
 */
import { isUtf8 } from 'node:buffer';
import type { TokenizeResult, TokenizeTask } from './task.ts';

/** Target bytes per piece: ~70 ms of tokenizing on one core, far above a task's overhead. */
export const PIECE_BYTES = 256 * 1024;

const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * Whether a piece may not start with the character at byte b (a UTF-8 lead byte >= 0x80): it is
 * Unicode White_Space (U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F,
 * U+3000, as pretokenize.ts), or U+FEFF, which TextDecoder drops at the start of a piece, or a
 * continuation byte (no character starts there).
 */
function noPieceStartsAt(bytes: Uint8Array, b: number): boolean {
  const c0 = bytes[b];
  const c1 = bytes[b + 1];
  const c2 = bytes[b + 2];
  if (c0 < 0xc0) return true;
  if (c0 === 0xc2) return c1 === 0x85 || c1 === 0xa0;
  if (c0 === 0xe1) return c1 === 0x9a && c2 === 0x80;
  if (c0 === 0xe2) return (c1 === 0x80 && ((c2 >= 0x80 && c2 <= 0x8a) || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf)) || (c1 === 0x81 && c2 === 0x9f);
  if (c0 === 0xe3) return c1 === 0x80 && c2 === 0x80;
  if (c0 === 0xef) return c1 === 0xbb && c2 === 0xbf;
  return false;
}

/** True when cutting `bytes` (UTF-8) before index b keeps the ids (rules R1-R3 above). */
export function isSafeCut(bytes: Uint8Array, b: number): boolean {
  if (b <= 0 || b >= bytes.length) return false;
  const prev = bytes[b - 1];
  const cur = bytes[b];
  if (prev === 0x0a || prev === 0x0d) return cur >= 0x80 ? !noPieceStartsAt(bytes, b) : cur >= 0x21 && cur <= 0x7e;
  if (cur >= 0x80) return false;
  if (isLetter(prev)) return !isLetter(cur);
  if (isDigit(prev)) return !isDigit(cur);
  return false;
}

/** The first safe cut at or after `from`, or -1. */
function nextSafeCut(bytes: Uint8Array, from: number): number {
  for (let b = Math.max(1, from); b < bytes.length; b++) if (isSafeCut(bytes, b)) return b;
  return -1;
}

/**
 * Where to cut `bytes` into pieces of about `pieceBytes` (equal shares of the text, each cut at
 * the first safe place after its share's end): ascending offsets strictly inside the text, none
 * for a text of at most `pieceBytes` bytes, one that cannot be decoded piecewise, or one with
 * no safe cut. A stretch without a safe cut (a run of letters, spaces or symbols) makes a piece
 * longer than the target; no piece is shorter than half of it, except the last.
 */
export function planCuts(bytes: Uint8Array, pieceBytes = PIECE_BYTES): number[] {
  const n = bytes.length;
  if (n <= pieceBytes || !decodesLosslessly(bytes)) return [];
  const count = Math.ceil(n / pieceBytes);
  const share = n / count;
  const minPiece = Math.max(1, Math.floor(share / 2));
  const cuts: number[] = [];
  let last = 0;
  for (let k = 1; k < count; k++) {
    const cut = nextSafeCut(bytes, Math.max(Math.round(k * share), last + minPiece));
    if (cut < 0) break;
    cuts.push(cut);
    last = cut;
  }
  return cuts;
}

/** Byte offsets of tokens equal text offsets: valid UTF-8 and no BOM that decoding would drop. */
function decodesLosslessly(bytes: Uint8Array): boolean {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return !bom && isUtf8(bytes);
}

/** Mask spans of the piece [a, b), shifted to start at 0 (spans keep their order). */
export function spansOfPiece(spans: ReadonlyArray<readonly [number, number]>, a: number, b: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [start, end] of spans) if (end > a && start < b) out.push([Math.max(start, a) - a, Math.min(end, b) - a]);
  return out;
}

/** Runs one tokenize task; the task's text buffer may be transferred (not used afterwards). */
export type RunTokenizeTask = (task: TokenizeTask) => Promise<TokenizeResult>;

export interface PiecewiseResult extends TokenizeResult {
  /** How many tasks the document took (1: whole). */
  pieces: number;
}

/**
 * BOS + ids of `text` + EOS and the loss mask, identical to one task over the whole text, run
 * as one task per piece (all at once: the pool spreads them over its threads). Each piece is
 * tokenized as a document of its own; its BOS/EOS are dropped and the document's are added.
 * `text` may be transferred to a worker: the caller must not use it afterwards.
 */
export async function tokenizePiecewise(
  text: Uint8Array,
  masked: Array<[number, number]>,
  bos: number,
  eos: number,
  run: RunTokenizeTask,
  pieceBytes = PIECE_BYTES,
): Promise<PiecewiseResult> {
  const cuts = planCuts(text, pieceBytes);
  if (cuts.length === 0) return { ...(await run({ text, masked, bos, eos })), pieces: 1 };

  const bounds = [0, ...cuts, text.length];
  const parts = await Promise.all(
    cuts.concat(text.length).map((b, k) => {
      const a = bounds[k];
      // A copy per piece, with its own ArrayBuffer, moved to its worker. Not `text.slice`: on a
      // Node Buffer (what the cache returns) that is a view, and moving the first piece's buffer
      // would detach every other piece (the message of the next is then lost, not rejected).
      const piece = new Uint8Array(b - a);
      piece.set(text.subarray(a, b));
      return run({ text: piece, masked: spansOfPiece(masked, a, b), bos, eos });
    }),
  );
  let total = 2;
  for (const p of parts) total += p.ids.length - 2;
  const ids = new Int32Array(total);
  const mask = new Uint8Array(total);
  ids[0] = bos;
  mask[0] = 1;
  let at = 1;
  for (const p of parts) {
    const len = p.ids.length - 2;
    ids.set(p.ids.subarray(1, 1 + len), at);
    mask.set(p.mask.subarray(1, 1 + len), at);
    at += len;
  }
  ids[at] = eos;
  mask[at] = 1;
  return { ids, mask, pieces: parts.length };
}
