/**
 * Byte-pair merging with tiktoken's semantics: repeatedly merge the adjacent pair of parts whose
 * concatenated bytes have the lowest rank (leftmost on ties) until no pair is a token.
 * tiktoken rescans all parts per merge (quadratic); a minified run can be one 100 kB piece, so
 * here parts are a linked list and candidate pairs sit in a binary heap keyed by (rank, start),
 * which picks the same pair each step in O(log n). Stale heap entries are skipped on pop.
 * Working arrays are module-level and reused: pieces arrive by the million, mostly short.
 */

const NONE = -1;
/** rank * 2^32 + start stays below 2^53 (ranks < 2^17), so one double orders by (rank, start). */
const SHIFT = 2 ** 32;

/** next[i]: start of the part after the part starting at i (n at the end); NONE once merged away. */
let next = new Int32Array(64);
let prev = new Int32Array(64);
/** The rank of the pair (part at i, following part), or NONE; a popped entry must match it. */
let pairRank = new Int32Array(64);
let heap = new Float64Array(3 * 64);
let size = 0;

function reserve(n: number): void {
  if (n <= next.length) return;
  const cap = Math.max(n, next.length * 2);
  next = new Int32Array(cap);
  prev = new Int32Array(cap);
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

function rankPair(bytes: string, ranks: Map<string, number>, i: number): void {
  const j = next[i];
  const r = j < bytes.length ? ranks.get(bytes.slice(i, next[j])) : undefined;
  if (r === undefined) {
    pairRank[i] = NONE;
  } else {
    pairRank[i] = r;
    push(r * SHIFT + i);
  }
}

/**
 * Appends to `out` the ids of `bytes` (raw bytes as a latin1 string, at least 2 long, every
 * single byte being a token as in all byte-level vocabularies).
 */
export function bytePairMerge(bytes: string, ranks: Map<string, number>, out: number[]): void {
  const n = bytes.length;
  reserve(n);
  size = 0;
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  for (let i = 0; i < n - 1; i++) rankPair(bytes, ranks, i);

  while (size > 0) {
    const key = pop();
    const i = key % SHIFT;
    if (next[i] === NONE || pairRank[i] !== (key - i) / SHIFT) continue;
    const j = next[i];
    const after = next[j];
    next[i] = after;
    next[j] = NONE;
    if (after < n) prev[after] = i;
    rankPair(bytes, ranks, i);
    if (prev[i] >= 0) rankPair(bytes, ranks, prev[i]);
  }

  for (let i = 0; i < n; i = next[i]) out.push(ranks.get(bytes.slice(i, next[i]))!);
}
