/**
 * The code tokens near-dedup and decontamination count in: identifiers/words, numbers, and
 * single punctuation characters; whitespace and layout never matter, so a reformatted or
 * re-indented copy still matches. Each token is hashed once; an n-gram's hash combines its
 * tokens' hashes (two 32-bit lanes -> a 52-bit number, exact enough for set membership).
 */
const TOKEN = /[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+(?:\.[0-9]+)?|[^\sA-Za-z0-9_$]/g;

export function codeTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** 32-bit FNV-1a of each token. */
export function tokenHashes(tokens: readonly string[]): Uint32Array {
  const out = new Uint32Array(tokens.length);
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    let h = 0x811c9dc5;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    out[k] = h >>> 0;
  }
  return out;
}

/** Hash of the n tokens starting at `at`, from their token hashes. */
export function ngramOf(th: Uint32Array, at: number, n: number): number {
  let a = 0x9747b28c;
  let b = 0x5bd1e995;
  for (let k = at; k < at + n; k++) {
    a = Math.imul(a ^ th[k]!, 0x01000193);
    b = Math.imul((b + th[k]!) | 0, 0xcc9e2d51) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** Hash of the n tokens starting at `at`. */
export function ngramHash(tokens: readonly string[], at: number, n: number): number {
  return ngramOf(tokenHashes(tokens.slice(at, at + n)), 0, n);
}
