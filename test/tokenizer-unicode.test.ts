/**
 * Our split regex runs on V8's Unicode tables, the reference on Rust's (older) ones. Digit
 * grouping makes `\p{N}` membership visible in ids ("X1234" splits as X12|34 or X|123|4), so
 * every numeric code point is probed; letters and spaces only change ids where bytes merge
 * across a split, so they are probed in context on a sample of all code points.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import { loadReferenceTokenizer } from './helpers/reference-tokenizer.ts';

const probe = (c: string): string => `${c}1234 a${c}b ${c}. \t${c}\n${c}${c}'${c}`;

function codePoints(keep: (cp: number, ch: string) => boolean): number[] {
  const out: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not UTF-8
    if (keep(cp, String.fromCodePoint(cp))) out.push(cp);
  }
  return out;
}

test('numeric, space and sampled code points: identical ids to the reference', async () => {
  const ours = await loadLlama3Tokenizer();
  const reference = await loadReferenceTokenizer();
  try {
    const special = /[\p{N}\s\u0085]/u;
    const cps = codePoints((cp, ch) => special.test(ch) || cp % 37 === 0 || cp < 0x800);
    const bad: string[] = [];
    const BLOCK = 2048;
    for (let start = 0; start < cps.length; start += BLOCK) {
      const block = cps.slice(start, start + BLOCK);
      const text = block.map((cp) => probe(String.fromCodePoint(cp))).join('');
      if (String(ours.encodeOrdinary(text)) === String(reference.encodeOrdinary(text))) continue;
      for (const cp of block) {
        const one = probe(String.fromCodePoint(cp));
        if (String(ours.encodeOrdinary(one)) !== String(reference.encodeOrdinary(one))) bad.push(`U+${cp.toString(16).toUpperCase()}`);
      }
    }
    assert.equal(bad, [], 'update the \\p{N} exclusions in stages/tokenize/pretokenize.ts');
  } finally {
    reference.free();
  }
});

test.run();
