/**
 * The figures of `retrace report`: plain data (labels and series) computed from a version's
 * manifest and the summary of the build that last wrote it (build.json). Every manifest section
 * besides shards and documents is optional (shape, search, hygiene, license come from other parts
 * of the pipeline and from older or newer manifests); a figure whose data is absent is listed
 * with the reason instead of drawn.
 */

export interface Series {
  label: string;
  data: number[];
}

export interface Figure {
  id: string;
  title: string;
  kind: 'bar' | 'stacked' | 'line';
  labels: string[];
  series: Series[];
  /** Axis titles. */
  x?: string;
  y?: string;
  /** Counts: whole-number ticks. */
  integer?: boolean;
  note?: string;
}

export interface Missing {
  title: string;
  why: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Histogram bins: powers of two when the range is wide, else ~12 equal widths. */
export function histogram(values: number[]): { labels: string[]; counts: number[] } {
  if (values.length === 0) return { labels: [], counts: [] };
  const min = Math.min(...values);
  const max = Math.max(...values);
  if (max > 64 * Math.max(min, 1)) {
    const lo = Math.floor(Math.log2(Math.max(min, 1)));
    const hi = Math.floor(Math.log2(Math.max(max, 1)));
    const counts = new Array(hi - lo + 1).fill(0);
    for (const v of values) counts[Math.floor(Math.log2(Math.max(v, 1))) - lo]++;
    return { labels: counts.map((_, k) => `${2 ** (lo + k)}-${2 ** (lo + k + 1) - 1}`), counts };
  }
  const bins = Math.min(12, Math.max(1, max - min + 1));
  const width = Math.max(1, Math.ceil((max - min + 1) / bins));
  const counts = new Array(Math.ceil((max - min + 1) / width)).fill(0);
  for (const v of values) counts[Math.floor((v - min) / width)]++;
  return { labels: counts.map((_, k) => `${min + k * width}-${min + (k + 1) * width - 1}`), counts };
}

/** The first object-valued field (searched two levels deep) whose values are all numbers. */
function numericMap(v: unknown, depth = 2): Record<string, number> | undefined {
  const o = obj(v);
  const entries = Object.entries(o);
  if (entries.length > 0 && entries.every(([, x]) => num(x) !== undefined)) return Object.fromEntries(entries) as Record<string, number>;
  if (depth === 0) return undefined;
  for (const [, x] of entries) {
    const m = numericMap(x, depth - 1);
    if (m) return m;
  }
  return undefined;
}

/** Every numeric leaf of a section, as dotted paths (for sections whose shape is not fixed). */
function numericLeaves(v: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [k, x] of Object.entries(obj(v))) {
    const n = num(x);
    if (n !== undefined) out[prefix + k] = n;
    else if (x && typeof x === 'object' && !Array.isArray(x)) numericLeaves(x, `${prefix}${k}.`, out);
  }
  return out;
}

export function reportFigures(manifest: Obj, build: Obj | undefined): { figures: Figure[]; missing: Missing[] } {
  const figures: Figure[] = [];
  const missing: Missing[] = [];
  const docs = arr(manifest.documents).map(obj);

  const tokens = docs.map((d) => num(d.tokens)).filter((n): n is number => n !== undefined);
  if (tokens.length) {
    const h = histogram(tokens);
    figures.push({ id: 'tokens-per-document', title: 'Tokens per document', kind: 'bar', labels: h.labels, series: [{ label: 'documents', data: h.counts }], x: 'tokens', y: 'documents', integer: true });
  } else missing.push({ title: 'Tokens per document', why: 'the manifest lists no documents with token counts' });

  const byRepo = new Map<string, { trained: number; masked: number }>();
  for (const d of docs) {
    const t = num(d.tokens);
    if (t === undefined) continue;
    const trained = num(d.trained) ?? t;
    const r = byRepo.get(String(d.repo ?? d.id)) ?? { trained: 0, masked: 0 };
    r.trained += trained;
    r.masked += t - trained;
    byRepo.set(String(d.repo ?? d.id), r);
  }
  if (byRepo.size) {
    const repos = [...byRepo.keys()];
    figures.push({
      id: 'trained-vs-masked',
      title: 'Trained vs loss-masked tokens per repository',
      kind: 'stacked',
      labels: repos,
      series: [
        { label: 'trained', data: repos.map((r) => byRepo.get(r)!.trained) },
        { label: 'loss-masked', data: repos.map((r) => byRepo.get(r)!.masked) },
      ],
      y: 'tokens',
    });
  }

  const parts = numericMap(manifest.shape);
  if (parts) figures.push({ id: 'document-parts', title: 'Document parts', kind: 'bar', labels: Object.keys(parts), series: [{ label: 'value', data: Object.values(parts) }] });
  else missing.push({ title: 'Document parts', why: 'this manifest has no `shape` section with per-part figures' });

  const skips = new Map<string, number>();
  for (const s of arr(manifest.sources).map(obj)) {
    for (const k of arr(s.skipped).map(obj)) skips.set(String(k.code ?? k.reason ?? 'unknown'), (skips.get(String(k.code ?? k.reason ?? 'unknown')) ?? 0) + 1);
    if (s.excluded) skips.set(`source excluded: ${String(obj(s.excluded).code ?? '?')}`, (skips.get(`source excluded: ${String(obj(s.excluded).code ?? '?')}`) ?? 0) + 1);
  }
  if (skips.size) figures.push({ id: 'skip-reasons', title: 'Skipped files and excluded sources, by reason', kind: 'bar', labels: [...skips.keys()], series: [{ label: 'files', data: [...skips.values()] }], integer: true });
  else missing.push({ title: 'Skip reasons', why: 'no file was skipped and no source excluded' });

  const stages = Object.entries(obj(build?.stages)).map(([n, s]) => [n, obj(s)] as const).filter(([, s]) => (num(s.items) ?? 0) > 0);
  if (stages.length) {
    figures.push({ id: 'stage-time', title: 'Time per stage, last build', kind: 'bar', labels: stages.map(([n]) => n), series: [{ label: 'seconds', data: stages.map(([, s]) => (num(s.ms) ?? 0) / 1000) }], y: 's' });
    figures.push({
      id: 'stage-cache',
      title: 'Cache hits per stage, last build',
      kind: 'stacked',
      labels: stages.map(([n]) => n),
      series: [
        { label: 'cached', data: stages.map(([, s]) => num(s.cached) ?? 0) },
        { label: 'computed', data: stages.map(([, s]) => num(s.computed) ?? 0) },
        { label: 'failed', data: stages.map(([, s]) => num(s.failed) ?? 0) },
      ],
      y: 'items',
      integer: true,
    });
  } else missing.push({ title: 'Per-stage time and cache hits', why: build ? 'the last build used no stage' : 'no build.json in the version folder (built before reports existed): build again' });

  const llm = obj(build?.llm);
  if (Object.keys(llm).length) {
    const calls: Array<[string, number]> = (['calls', 'requests', 'cached'] as const).flatMap((k) => (num(llm[k]) !== undefined ? [[k, num(llm[k])!] as [string, number]] : []));
    const toks: Array<[string, number]> = (['promptTokens', 'completionTokens'] as const).flatMap((k) => (num(llm[k]) !== undefined ? [[k, num(llm[k])!] as [string, number]] : []));
    figures.push({ id: 'llm-calls', title: `LLM calls (${String(llm.provider ?? '?')} ${String(llm.model ?? '')})`, kind: 'bar', labels: calls.map(([k]) => k), series: [{ label: 'calls', data: calls.map(([, v]) => v) }], integer: true });
    if (toks.some(([, v]) => v > 0)) figures.push({ id: 'llm-tokens', title: 'LLM tokens', kind: 'bar', labels: toks.map(([k]) => k), series: [{ label: 'tokens', data: toks.map(([, v]) => v) }] });
    else missing.push({ title: 'LLM tokens', why: 'no tokens were sent (offline provider, or every answer cached)' });
    const cost = num(llm.cost) ?? num(llm.costUsd) ?? num(obj(llm.cost).usd);
    if (cost !== undefined) figures.push({ id: 'llm-cost', title: 'LLM cost (USD)', kind: 'bar', labels: ['cost'], series: [{ label: 'USD', data: [cost] }] });
  } else missing.push({ title: 'LLM calls and tokens', why: 'the last build recorded no LLM use' });

  const search = obj(manifest.search);
  const perIter = arr(search.perIteration ?? search.pplPerIteration).map((x) => num(x) ?? num(obj(x).meanPpl) ?? num(obj(x).ppl)).filter((n): n is number => n !== undefined);
  if (perIter.length) figures.push({ id: 'search-ppl', title: 'CoT search: mean code perplexity per iteration', kind: 'line', labels: perIter.map((_, k) => String(k)), series: [{ label: 'perplexity', data: perIter }], x: 'iteration' });
  else if (num(search.meanCodePplBefore) !== undefined && num(search.meanCodePplAfter) !== undefined) {
    figures.push({ id: 'search-ppl', title: 'CoT search: mean code perplexity, before and after', kind: 'line', labels: ['initial', 'final'], series: [{ label: 'perplexity', data: [num(search.meanCodePplBefore)!, num(search.meanCodePplAfter)!] }] });
  } else missing.push({ title: 'CoT-search perplexity', why: 'search was off for this version' });

  const hygiene = numericLeaves(manifest.hygiene);
  if (Object.keys(hygiene).length) figures.push({ id: 'hygiene', title: 'Hygiene', kind: 'bar', labels: Object.keys(hygiene), series: [{ label: 'value', data: Object.values(hygiene) }] });
  else missing.push({ title: 'Hygiene', why: 'this manifest has no `hygiene` section' });

  return { figures, missing };
}
