/**
 * The code tokens near-dedup and decontamination count in: identifiers/words, numbers, and
 * single punctuation characters; whitespace and layout never matter, so a reformatted or
 * re-indented copy still matches.
 */
const TOKEN = /[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+(?:\.[0-9]+)?|[^\sA-Za-z0-9_$]/g;

export function codeTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** 32-bit FNV-1a of a string. */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A 52-bit hash of n consecutive tokens (two FNV lanes), as a number: exact enough for set membership. */
export function ngramHash(tokens: readonly string[], at: number, n: number): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let k = at; k < at + n; k++) {
    const t = tokens[k]!;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0x1f, 0x01000193);
    b = Math.imul(b ^ 0x1f, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}
