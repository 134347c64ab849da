/**
 * Byte-pair merging with tiktoken's semantics: repeatedly merge the adjacent pair of parts whose
 * concatenated bytes have the lowest rank (leftmost on ties) until no pair is a token.
 * tiktoken rescans all parts per merge (quadratic); a minified run can be one 100 kB piece, so
 * here parts are a linked list and candidate pairs sit in a binary heap keyed by (rank, start),
 * which picks the same pair each step in O(log n). Stale heap entries are skipped on pop.
 * Working arrays are module-level and reused: pieces arrive by the million, mostly short.
 *
 * Parts are held by their ids, not their bytes: every part is a token from the start (single
 * bytes) and stays one (a merge makes the token its pair ranks as), so the rank of a pair is a
 * lookup of two ids in a pair table (`PairTable`: the id of the token whose bytes are the left
 * id's then the right id's). That is what `ranks.get(bytes of both parts)` answers, without
 * slicing a string and hashing it per candidate pair (half of the tokenizer's time before).
 * Rank = id for ordinary tokens, as tiktoken's ranks are the ids.
 */

const NONE = -1;
/** rank * 2^32 + start stays below 2^53 (ranks < 2^17), so one double orders by (rank, start). */
const SHIFT = 2 ** 32;

/**
 * (left id, right id) -> the id of the token whose bytes are left's then right's, for every such
 * pair of the vocabulary; and each byte's id. Open addressing, linear probing: slot s holds
 * [left + 1 (0: empty), right, id] at 3s.
 */
export interface PairTable {
  /** 3 ints per slot; the slot count is a power of two. */
  readonly slots: Int32Array;
  /** The id of each single byte. */
  readonly byteIds: Int32Array;
}

/** Slot of a pair: a mix of both ids, top bits (`shift` = 32 - log2(slots)). */
function slotOf(a: number, b: number, shift: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> shift;
}

/** log2 of the slot count for `pairs` entries: load at most 0.55. */
export function pairTableBits(pairs: number): number {
  let bits = 4;
  while ((1 << bits) * 0.55 < pairs) bits++;
  return bits;
}

/**
 * The pair table of a byte-level vocabulary (raw bytes as latin1 strings -> rank = id). Every
 * byte must be a token and every rank one token's: what tiktoken's byte-level BPE assumes.
 * Returns a problem instead when the vocabulary breaks that.
 */
export function buildPairTable(ranks: Map<string, number>): PairTable | string {
  const byteIds = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const id = ranks.get(String.fromCharCode(b));
    if (id === undefined) return `byte 0x${b.toString(16).padStart(2, '0')} is not a token`;
    byteIds[b] = id;
  }
  const seen = new Set<number>();
  const lefts: number[] = [];
  const rights: number[] = [];
  const ids: number[] = [];
  for (const [bytes, id] of ranks) {
    if (id < 0 || id >= 1 << 30) return `rank ${id} is out of range`;
    if (seen.has(id)) return `rank ${id} belongs to two tokens`;
    seen.add(id);
    for (let k = 1; k < bytes.length; k++) {
      const a = ranks.get(bytes.slice(0, k));
      if (a === undefined) continue;
      const b = ranks.get(bytes.slice(k));
      if (b === undefined) continue;
      lefts.push(a);
      rights.push(b);
      ids.push(id);
    }
  }
  const bits = pairTableBits(ids.length);
  const table = new Int32Array(3 << bits);
  const shift = 32 - bits;
  const mask = (1 << bits) - 1;
  for (let e = 0; e < ids.length; e++) {
    let s = slotOf(lefts[e], rights[e], shift);
    while (table[3 * s] !== 0) s = (s + 1) & mask;
    table[3 * s] = lefts[e] + 1;
    table[3 * s + 1] = rights[e];
    table[3 * s + 2] = ids[e];
  }
  return { slots: table, byteIds };
}

/** The pair table of the merge running, and its slot mask and shift (set per call). */
let slots: Int32Array = new Int32Array(3);
let slotMask = 0;
let slotShift = 32;

/** The id of the token that is `a`'s bytes then `b`'s, or NONE. */
function pairId(a: number, b: number): number {
  let s = slotOf(a, b, slotShift);
  for (;;) {
    const k = 3 * s;
    const left = slots[k];
    if (left === 0) return NONE;
    if (left === a + 1 && slots[k + 1] === b) return slots[k + 2];
    s = (s + 1) & slotMask;
  }
}

/** next[i]: start of the part after the part starting at i (n at the end); NONE once merged away. */
let next = new Int32Array(64);
let prev = new Int32Array(64);
/** The id of the part starting at i. */
let part = new Int32Array(64);
/** The rank of the pair (part at i, following part), or NONE; a popped entry must match it. */
let pairRank = new Int32Array(64);
let heap = new Float64Array(3 * 64);
let size = 0;

function reserve(n: number): void {
  if (n <= next.length) return;
  const cap = Math.max(n, next.length * 2);
  next = new Int32Array(cap);
  prev = new Int32Array(cap);
  part = new Int32Array(cap);
  pairRank = new Int32Array(cap);
  heap = new Float64Array(3 * cap);
}

function push(key: number): void {
  let i = size++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= key) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = key;
}

function pop(): number {
  const top = heap[0];
  const last = heap[--size];
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1] < heap[child]) child++;
    if (heap[child] >= last) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
  return top;
}

function rankPair(n: number, i: number): void {
  const j = next[i];
  const r = j < n ? pairId(part[i], part[j]) : NONE;
  pairRank[i] = r;
  if (r !== NONE) push(r * SHIFT + i);
}

/**
 * Appends to `out` the ids of `bytes` (raw bytes as a latin1 string, at least 2 long).
 */
export function bytePairMerge(bytes: string, pairs: PairTable, out: number[]): void {
  const n = bytes.length;
  const { byteIds } = pairs;
  if (slots !== pairs.slots) {
    slots = pairs.slots;
    slotMask = slots.length / 3 - 1;
    slotShift = 32 - Math.log2(slotMask + 1);
  }
  reserve(n);
  size = 0;
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    part[i] = byteIds[bytes.charCodeAt(i)];
  }
  for (let i = 0; i < n - 1; i++) rankPair(n, i);

  while (size > 0) {
    const key = pop();
    const i = key % SHIFT;
    if (next[i] === NONE || pairRank[i] !== (key - i) / SHIFT) continue;
    const j = next[i];
    const after = next[j];
    next[i] = after;
    next[j] = NONE;
    if (after < n) prev[after] = i;
    part[i] = pairRank[i];
    rankPair(n, i);
    if (prev[i] >= 0) rankPair(n, prev[i]);
  }

  for (let i = 0; i < n; i = next[i]) out.push(part[i]);
}
