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
  if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, canonicalJson(v));
}

export function diffVersions(a: VersionInfo, b: VersionInfo, pipeline?: ManifestDiff): DatasetDiff {
  const skip = new Set([...OWN, ...(pipeline?.fields ?? [])]);
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  for (const [k, v] of Object.entries(a.manifest)) if (!skip.has(k)) flatten(v, k, fa);
  for (const [k, v] of Object.entries(b.manifest)) if (!skip.has(k)) flatten(v, k, fb);
  const settings: DatasetDiff['settings'] = [];
  for (const field of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    if (fa.get(field) !== fb.get(field)) {
      settings.push({ field, a: fa.has(field) ? JSON.parse(fa.get(field)!) : undefined, b: fb.has(field) ? JSON.parse(fb.get(field)!) : undefined });
    }
  }
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
