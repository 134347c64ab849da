/**
 * Where a repository's trajectory is cut into documents bounded by `trajectory.maxTokens`.
 *
 * The items are the document's sections in order (setup files, code files in implementation
 * order, other files), each priced in Llama-3 tokens as it can cost at most (its Reads rendered
 * as in a fresh document). Files of one import cycle are glued into one unit, so a cycle is never
 * cut. A dynamic program over the cut positions finds, first, the fewest parts whose every part
 * fits the budget (its header included) and, among those, the cut where the fewest imports cross
 * (an importer in a later part than what it imports). A unit that alone is over the budget is a
 * part of its own (it cannot be made smaller without splitting a file's Write).
 */

export interface CutItem {
  path: string;
  tokens: number;
}

export interface CutResult {
  /** Item index ranges [start, end) of each part, in order. */
  parts: Array<[number, number]>;
  /** Imports that cross from a later part into an earlier one. */
  crossing: number;
  /** Parts over the budget (a single unit larger than it). */
  oversize: number;
}

/**
 * @param headerTokens  tokens of a part's header (requirements, plan of its files, account of
 *                      earlier parts), as a function of the part's item range: an upper bound
 *                      is fine.
 */
export function cutParts(
  items: CutItem[],
  edges: Array<{ from: string; to: string }>,
  cycles: string[][],
  budget: number,
  headerTokens: (start: number, end: number) => number,
): CutResult {
  const n = items.length;
  if (n === 0) return { parts: [], crossing: 0, oversize: 0 };
  const pos = new Map(items.map((it, i) => [it.path, i]));
  // A cut at c (between item c-1 and c) is allowed unless it splits a cycle.
  const blocked = new Uint8Array(n + 1);
  for (const cyc of cycles) {
    const ps = cyc.map((p) => pos.get(p)).filter((p): p is number => p !== undefined);
    if (ps.length < 2) continue;
    for (let c = Math.min(...ps) + 1; c <= Math.max(...ps); c++) blocked[c] = 1;
  }
  // crossing[c]: imports whose importer is at or after c and whose target is before c.
  const diff = new Int32Array(n + 2);
  for (const e of edges) {
    const f = pos.get(e.from);
    const t = pos.get(e.to);
    if (f === undefined || t === undefined || t >= f) continue;
    diff[t + 1]++;
    diff[f + 1]--;
  }
  const crossing = new Int32Array(n + 1);
  for (let c = 1, run = 0; c <= n; c++) crossing[c] = run += diff[c];
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + items[i].tokens;
  const cost = (a: number, b: number): number => prefix[b] - prefix[a] + headerTokens(a, b);

  // dp[j]: best (parts, crossings) for items [0, j) with a cut at j.
  const parts = new Float64Array(n + 1).fill(Infinity);
  const cross = new Float64Array(n + 1).fill(Infinity);
  const from = new Int32Array(n + 1).fill(-1);
  parts[0] = 0;
  cross[0] = 0;
  for (let j = 1; j <= n; j++) {
    if (j < n && blocked[j]) continue;
    const here = j < n ? crossing[j] : 0;
    // Scan starts from j-1 back; stop once a part [i, j) holding more than one unit is over the budget.
    let firstAllowed = -1;
    for (let i = j - 1; i >= 0; i--) {
      if (i > 0 && blocked[i]) continue;
      if (parts[i] === Infinity) continue;
      if (firstAllowed < 0) firstAllowed = i;
      const fits = cost(i, j) <= budget;
      if (!fits && i !== firstAllowed) break;
      const p = parts[i] + 1;
      const x = cross[i] + here;
      if (p < parts[j] || (p === parts[j] && x < cross[j])) {
        parts[j] = p;
        cross[j] = x;
        from[j] = i;
      }
      if (!fits) break;
    }
  }
  const out: Array<[number, number]> = [];
  for (let j = n; j > 0; j = from[j]) out.unshift([from[j], j]);
  const oversize = out.filter(([a, b]) => cost(a, b) > budget).length;
  return { parts: out, crossing: cross[n], oversize };
}
