/**
 * The report of a version: figures from its manifest and the last build's summary (build.json,
 * written beside the manifest by each build that writes the version), the first document, and
 * the page (html.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VersionInfo } from '../../src/dataset.ts';
import { reportFigures, type Figure, type Missing } from './figures.ts';
import { renderReport } from './html.ts';
import { readRows, spansOf, tokenizer, type Span } from '../view/rows.ts';

/** Characters of the first document shown in the report. */
const SAMPLE_CHARS = 20_000;

export interface Report {
  html: string;
  figures: Figure[];
  missing: Missing[];
}

export function lastBuild(v: VersionInfo): Record<string, unknown> | undefined {
  const f = join(v.path, 'build.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>) : undefined;
}

export async function buildReport(v: VersionInfo): Promise<Report> {
  const m = v.manifest;
  const build = lastBuild(v);
  const { figures, missing } = reportFigures(m, build);
  const tokens = m.shards.reduce((n, s) => n + s.tokens, 0);
  const docs = Array.isArray(m.documents) ? m.documents.length : undefined;
  const trained = Array.isArray(m.documents) ? (m.documents as Array<{ trained?: number; tokens?: number }>).reduce((n, d) => n + (d.trained ?? d.tokens ?? 0), 0) : undefined;
  const facts: Array<[string, string]> = [
    ['version', `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}${v.partial ? ' PARTIAL' : ''}`],
    ['format / layout', `${String(m.format ?? '?')} / ${String((m.output as { layout?: string } | undefined)?.layout ?? '?')}`],
    ['documents', String(docs ?? '?')],
    ['tokens', `${tokens}${trained !== undefined && tokens ? ` (${((100 * trained) / tokens).toFixed(1)}% trained)` : ''}`],
    ['shards', m.shards.map((s) => s.file).join(', ')],
    ['merkle root', m.merkleRoot],
    ...(build ? ([['last build', `${((Number(build.ms) || 0) / 1000).toFixed(1)} s, ${Array.isArray(build.failures) ? build.failures.length : 0} failure(s)`]] as Array<[string, string]>) : []),
  ];
  let sample: { id: string; spans: Span[]; truncated: boolean } | undefined;
  const [row] = await readRows(v, 1);
  if (row) {
    const all = spansOf(await tokenizer(), row.inputIds, row.lossMask);
    const spans: Span[] = [];
    let chars = 0;
    for (const s of all) {
      if (chars >= SAMPLE_CHARS) break;
      spans.push({ ...s, text: s.text.slice(0, SAMPLE_CHARS - chars) });
      chars += s.text.length;
    }
    sample = { id: row.id ?? `${row.shard} row 0 (${row.docIds?.join(', ')})`, spans, truncated: chars > SAMPLE_CHARS };
  }
  const html = renderReport({ title: `Retrace report: ${v.name}/${v.version}`, facts, figures, missing, sample });
  return { html, figures, missing };
}
