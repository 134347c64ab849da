/**
 * Small 32-bit hashes for in-memory indexes and stable choices (not content addresses: those are
 * xxh128 in src/hash.ts). FNV-1a over UTF-16 units, and murmur3's finalizer to spread its bits.
 */

/** FNV-1a of a string's UTF-16 units, as an unsigned 32-bit number. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: every input bit moves every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
