/**
 * MinHash signatures and LSH banding for near-duplicate detection (dedup: 'near').
 *
 * Shingles are SHINGLE consecutive code tokens (tokens.ts). A signature is the minimum, over a
 * file's shingles, of PERMUTATIONS 32-bit hash functions (double hashing h1 + p*h2 of the
 * shingle hash, xor a fixed per-permutation seed); two signatures agree in a position with probability equal
 * to the Jaccard similarity of the shingle sets. A repository's signature is the element-wise
 * minimum of its files' signatures: exactly the MinHash of the union of their shingles.
 * LSH: BANDS bands of ROWS rows; two files become candidates when one band is identical
 * (probability 1-(1-J^ROWS)^BANDS: 0.96 at J = 0.8, 0.01 at J = 0.4) and are then compared on
 * the whole signature against THRESHOLD.
 *
 * Libraries considered: `minhash` (0.0.9, unmaintained since 2019, no LSH banding of our own
 * choice) and bloom-filters' MinHash (random seeds per instance, not reproducible across
 * machines). Both fail the one property a build needs here, identical signatures on every
 * machine, so this is ~60 lines of our own.
 */
import { codeTokens, ngramOf, tokenHashes } from './tokens.ts';
import { fmix32 } from '../hash32.ts';
import { ShardedMap } from './shards.ts';

export const SHINGLE = 5;
export const PERMUTATIONS = 128;
export const BANDS = 16;
export const ROWS = 8;
export const THRESHOLD = 0.8;
/** Files with fewer shingles than this are too small for a meaningful near-duplicate verdict (exact dedup still applies). */
export const MIN_SHINGLES = 20;
export const MINHASH_VERSION = `minhash-${SHINGLE}x${PERMUTATIONS}-2`;

const SEEDS = (() => {
  const out = new Uint32Array(PERMUTATIONS);
  let x = 0x9e3779b9;
  for (let i = 0; i < PERMUTATIONS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 0;
  }
  return out;
})();

const mix = fmix32;

export interface MinHashSig {
  /** PERMUTATIONS minima. */
  sig: number[];
  shingles: number;
}

export function minhash(text: string): MinHashSig {
  const tokens = tokenHashes(codeTokens(text));
  const mins = new Uint32Array(PERMUTATIONS).fill(0xffffffff);
  const seen = new Set<number>();
  for (let i = 0; i + SHINGLE <= tokens.length; i++) {
    const g = ngramOf(tokens, i, SHINGLE);
    if (seen.has(g)) continue;
    seen.add(g);
    // Double hashing (Kirsch-Mitzenmacher): permutation p is h1 + p*h2 (+ a fixed per-p seed), one multiply each.
    const h1 = mix(g % 0x100000000);
    const h2 = mix(Math.floor(g / 0x100000000) ^ 0x9e3779b9) | 1;
    for (let p = 0; p < PERMUTATIONS; p++) {
      const v = ((h1 + Math.imul(p, h2)) ^ SEEDS[p]!) >>> 0;
      if (v < mins[p]!) mins[p] = v;
    }
  }
  return { sig: [...mins], shingles: seen.size };
}

/** Element-wise minimum: the signature of the union. */
export function unionSig(sigs: readonly number[][]): number[] {
  const out = new Array<number>(PERMUTATIONS).fill(0xffffffff);
  for (const s of sigs) for (let p = 0; p < PERMUTATIONS; p++) if (s[p]! < out[p]!) out[p] = s[p]!;
  return out;
}

export function jaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let p = 0; p < PERMUTATIONS; p++) if (a[p] === b[p]) same++;
  return same / PERMUTATIONS;
}

/** An LSH index over signatures (BANDS bands of ROWS values); a bucket keeps its values in insertion order. */
export class LshIndex<T> {
  /** By band key; sharded by the key's low bits (16 keys per file: one Map would be full at ~1M files). */
  private readonly buckets = new ShardedMap<number, T[]>((k) => k);

  /**
   * One number per band: the band's index and a 48-bit hash of its ROWS values (two 32-bit
   * mixes), exact in a double. Strings of the values joined were ~80 µs per file (issue 17); a
   * rare collision of two bands' hashes only adds a candidate, which the caller's Jaccard check
   * then rejects.
   */
  private keys(sig: ArrayLike<number>): number[] {
    const out: number[] = new Array(BANDS);
    for (let b = 0; b < BANDS; b++) {
      let h1 = 0x811c9dc5 ^ b;
      let h2 = 0x2545f491 ^ b;
      for (let r = b * ROWS; r < (b + 1) * ROWS; r++) {
        const v = sig[r]! | 0;
        h1 = Math.imul(h1 ^ v, 0x01000193);
        h2 = Math.imul((h2 ^ v) + 0x6b43a9b5, 0x85ebca6b);
        h2 ^= h2 >>> 15;
      }
      out[b] = b * 2 ** 48 + fmix32(h1 >>> 0) * 2 ** 16 + (fmix32(h2 >>> 0) & 0xffff);
    }
    return out;
  }

  add(sig: ArrayLike<number>, value: T): void {
    for (const k of this.keys(sig)) {
      const list = this.buckets.get(k);
      if (list) list.push(value);
      else this.buckets.set(k, [value]);
    }
  }

  /** Values sharing a band with `sig`, each once, in the order first met (band by band). */
  candidates(sig: ArrayLike<number>): T[] {
    const out = new Set<T>();
    for (const k of this.keys(sig)) for (const v of this.buckets.get(k) ?? []) out.add(v);
    return [...out];
  }
}
