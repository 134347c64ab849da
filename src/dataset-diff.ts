/**
 * `retrace dataset diff A B`: what changed between two versions, from their manifests alone:
 * pinned settings (any top-level manifest field other than shards and documents), sources,
 * documents added/removed/changed (by text hash) and token counts.
 */
import { canonicalJson } from './key.ts';
import type { VersionInfo } from './dataset.ts';

interface DocEntry {
  id: string;
  text: string;
  tokens: number;
}

export interface DatasetDiff {
  a: string;
  b: string;
  settings: Array<{ field: string; a: unknown; b: unknown }>;
  documents: { added: string[]; removed: string[]; changed: Array<{ id: string; tokensA: number; tokensB: number }> };
  tokens: { a: number; b: number };
  shards: { a: number; b: number };
}

/** Fields compared element by element rather than as one value. */
const LISTS = new Set(['shards', 'documents', 'version', 'merkleRoot']);

/** Leaf fields by path (`sources[2].snapshot`), so a diff names exactly what changed. */
function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) {
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, canonicalJson(v));
}

export function diffVersions(a: VersionInfo, b: VersionInfo): DatasetDiff {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  for (const [k, v] of Object.entries(a.manifest)) if (!LISTS.has(k)) flatten(v, k, fa);
  for (const [k, v] of Object.entries(b.manifest)) if (!LISTS.has(k)) flatten(v, k, fb);
  const settings: DatasetDiff['settings'] = [];
  for (const field of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    if (fa.get(field) !== fb.get(field)) {
      settings.push({ field, a: fa.has(field) ? JSON.parse(fa.get(field)!) : undefined, b: fb.has(field) ? JSON.parse(fb.get(field)!) : undefined });
    }
  }
  const da = new Map(((a.manifest.documents ?? []) as DocEntry[]).map((d) => [d.id, d]));
  const db = new Map(((b.manifest.documents ?? []) as DocEntry[]).map((d) => [d.id, d]));
  const documents: DatasetDiff['documents'] = { added: [], removed: [], changed: [] };
  for (const [id, d] of db) {
    const old = da.get(id);
    if (!old) documents.added.push(id);
    else if (old.text !== d.text || old.tokens !== d.tokens) documents.changed.push({ id, tokensA: old.tokens, tokensB: d.tokens });
  }
  for (const id of da.keys()) if (!db.has(id)) documents.removed.push(id);
  const sum = (v: VersionInfo): number => v.manifest.shards.reduce((n, s) => n + s.tokens, 0);
  return { a: `${a.name}/${a.version}`, b: `${b.name}/${b.version}`, settings, documents, tokens: { a: sum(a), b: sum(b) }, shards: { a: a.manifest.shards.length, b: b.manifest.shards.length } };
}

export function formatDiff(d: DatasetDiff): string {
  const short = (v: unknown): string => {
    const t = v === undefined ? '(absent)' : JSON.stringify(v);
    return t.length > 60 ? t.slice(0, 57) + '...' : t;
  };
  const lines = [`${d.a} -> ${d.b}`];
  lines.push(d.settings.length ? `  inputs and settings (${d.settings.length} changed):` : '  inputs and settings: unchanged');
  for (const s of d.settings.slice(0, 40)) lines.push(`    ${s.field}: ${short(s.a)} -> ${short(s.b)}`);
  if (d.settings.length > 40) lines.push(`    ... and ${d.settings.length - 40} more`);
  const { added, removed, changed } = d.documents;
  lines.push(`  documents: ${added.length} added, ${removed.length} removed, ${changed.length} changed`);
  for (const id of added) lines.push(`    + ${id}`);
  for (const id of removed) lines.push(`    - ${id}`);
  for (const c of changed) lines.push(`    ~ ${c.id} (${c.tokensA} -> ${c.tokensB} tokens)`);
  lines.push(`  tokens: ${d.tokens.a} -> ${d.tokens.b} (${d.tokens.b - d.tokens.a >= 0 ? '+' : ''}${d.tokens.b - d.tokens.a}); shards: ${d.shards.a} -> ${d.shards.b}`);
  return lines.join('\n');
}
