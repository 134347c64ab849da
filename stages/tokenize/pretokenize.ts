/**
 * Llama-3's split pattern, and its translation to a JS RegExp with the same matches as the Rust
 * regex that tiktoken (fancy-regex) runs. Both are backtracking, leftmost-first engines; three
 * differences need care:
 * - `(?i:'s|'t|...)`: JS before Node 22 has no inline flags, so case variants are spelt out.
 * - `\s`: Rust's is Unicode White_Space, JS's adds U+FEFF and lacks U+0085 (NEL): spelt out.
 * - `\p{L}`/`\p{N}`: V8 (Node 20.20: ICU 78, Unicode 17) knows digits that tiktoken's Rust
 *   tables (Unicode 16) do not; they are removed from `\p{N}` (set subtraction needs the `v`
 *   flag). test/tokenizer-unicode.test.ts probes code points against the reference and fails when
 *   a Node upgrade adds more. New letters cannot change ids unless their bytes merge with a
 *   neighbour's, which the same test checks in context.
 */

/** The pattern as tokenizer.json and tiktoken have it; part of the tokenizer id. */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Unicode White_Space, as Rust's `\s`. */
const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Nd/Nl new in Unicode 17 (Tolong Siki digits, three Tangut-block numerals): not \p{N} for Rust. */
const N = '[\\p{N}--[\\u{11DE0}-\\u{11DE9}\\u{16FF4}-\\u{16FF6}]]';

const CONTRACTIONS = "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";

const JS_SOURCE = [
  CONTRACTIONS,
  `[^\\r\\n\\p{L}${N}]?\\p{L}+`,
  `${N}{1,3}`,
  ` ?[^${WS}\\p{L}${N}]+[\\r\\n]*`,
  `[${WS}]*[\\r\\n]+`,
  `[${WS}]+(?![^${WS}])`,
  `[${WS}]+`,
].join('|');

/** A fresh global RegExp per caller: `lastIndex` is state, so never share one across loops. */
export function splitRegExp(): RegExp {
  return new RegExp(JS_SOURCE, 'gv');
}
