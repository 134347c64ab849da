/**
 * `retrace dataset diff A B`: what changed between two versions, from their manifests alone:
 * every pinned field by path (`sources[2].snapshot`), token and shard counts, plus the sections
 * the pipeline compares itself (the Retrace pipeline: documents added, removed and changed).
 */
import { canonicalJson } from './key.ts';
import type { VersionInfo } from './dataset.ts';
import type { ManifestDiff } from './pipeline.ts';

export interface DatasetDiff {
  a: string;
  b: string;
  settings: Array<{ field: string; a: unknown; b: unknown }>;
  tokens: { a: number; b: number };
  shards: { a: number; b: number };
  /** The pipeline's sections (e.g. `documents`). */
  [section: string]: unknown;
}

/** Fields that are not settings: the shard list and the version's own id. */
const OWN = ['shards', 'version', 'merkleRoot'];

/** Leaf fields by path (`sources[2].snapshot`), so a diff names exactly what changed. */
function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  const kind = kindOf(v);
  if (kind === 'list') (v as unknown[]).forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  else if (kind === 'object') for (const [k, x] of Object.entries(v as object)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, canonicalJson(v));
}

/** A list holding an object is compared element by element, an object key by key; anything else is one leaf. */
function kindOf(v: unknown): 'list' | 'object' | 'leaf' {
  if (Array.isArray(v)) return v.some((x) => x && typeof x === 'object') ? 'list' : 'leaf';
  return v && typeof v === 'object' ? 'object' : 'leaf';
}

/** Stands for a field one side does not have. */
const ABSENT = Symbol('absent');

/**
 * The leaf fields that differ between `a` and `b` under `prefix`, walking both at once (so two
 * manifests of a million sources are compared without a map of every leaf of each).
 */
function changedLeaves(a: unknown, b: unknown, prefix: string, out: DatasetDiff['settings']): void {
  const ka = a === ABSENT ? undefined : kindOf(a);
  const kb = b === ABSENT ? undefined : kindOf(b);
  if (ka === 'list' && kb === 'list') {
    const la = a as unknown[];
    const lb = b as unknown[];
    for (let i = 0; i < Math.max(la.length, lb.length); i++) changedLeaves(i < la.length ? la[i] : ABSENT, i < lb.length ? lb[i] : ABSENT, `${prefix}[${i}]`, out);
    return;
  }
  if (ka === 'object' && kb === 'object') {
    const oa = a as Record<string, unknown>;
    const ob = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(oa), ...Object.keys(ob)])) {
      changedLeaves(Object.hasOwn(oa, k) ? oa[k] : ABSENT, Object.hasOwn(ob, k) ? ob[k] : ABSENT, prefix ? `${prefix}.${k}` : k, out);
    }
    return;
  }
  // Different shapes (or a side absent): compare their leaves by path, as small maps.
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  if (a !== ABSENT) flatten(a, prefix, fa);
  if (b !== ABSENT) flatten(b, prefix, fb);
  for (const field of new Set([...fa.keys(), ...fb.keys()])) {
    if (fa.get(field) !== fb.get(field)) out.push({ field, a: fa.has(field) ? JSON.parse(fa.get(field)!) : undefined, b: fb.has(field) ? JSON.parse(fb.get(field)!) : undefined });
  }
}

export function diffVersions(a: VersionInfo, b: VersionInfo, pipeline?: ManifestDiff): DatasetDiff {
  const skip = new Set([...OWN, ...(pipeline?.fields ?? [])]);
  const keep = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k]) => !skip.has(k)));
  const settings: DatasetDiff['settings'] = [];
  changedLeaves(keep(a.manifest), keep(b.manifest), '', settings);
  settings.sort((x, y) => (x.field < y.field ? -1 : x.field > y.field ? 1 : 0));
  const sum = (v: VersionInfo): number => v.manifest.shards.reduce((n, s) => n + s.tokens, 0);
  const sections = pipeline?.diff(a.manifest, b.manifest) ?? {};
  return { a: `${a.name}/${a.version}`, b: `${b.name}/${b.version}`, settings, ...sections, tokens: { a: sum(a), b: sum(b) }, shards: { a: a.manifest.shards.length, b: b.manifest.shards.length } };
}

export function formatDiff(d: DatasetDiff, pipeline?: ManifestDiff): string {
  const short = (v: unknown): string => {
    const t = v === undefined ? '(absent)' : JSON.stringify(v);
    return t.length > 60 ? t.slice(0, 57) + '...' : t;
  };
  const lines = [`${d.a} -> ${d.b}`];
  lines.push(d.settings.length ? `  inputs and settings (${d.settings.length} changed):` : '  inputs and settings: unchanged');
  for (const s of d.settings.slice(0, 40)) lines.push(`    ${s.field}: ${short(s.a)} -> ${short(s.b)}`);
  if (d.settings.length > 40) lines.push(`    ... and ${d.settings.length - 40} more`);
  if (pipeline) lines.push(...pipeline.format(d));
  lines.push(`  tokens: ${d.tokens.a} -> ${d.tokens.b} (${d.tokens.b - d.tokens.a >= 0 ? '+' : ''}${d.tokens.b - d.tokens.a}); shards: ${d.shards.a} -> ${d.shards.b}`);
  return lines.join('\n');
}
