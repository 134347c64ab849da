/**
 * How the Retrace pipeline's own fields read: the summary lines a build prints (`llm`, skipped
 * files, excluded sources), what a build answered by the up-to-date shortcut reports, the
 * manifest description of `retrace dataset show` and the document diff of `retrace dataset diff`.
 */
import type { ManifestDiff } from '../src/pipeline.ts';
import type { LlmSummary } from './llm/session.ts';
import { formatShape } from './render/shape.ts';
import { hygieneLines } from './hygiene/show.ts';

function llmLine(llm: LlmSummary): string {
  const provider = typeof llm.provider === 'string' ? ` (${llm.provider}${typeof llm.model === 'string' ? ` ${llm.model}` : ''})` : '';
  const calls = typeof llm.calls === 'number' ? `${llm.calls} calls, ` : '';
  return `  llm${provider}: ${calls}${llm.requests} requests sent, ${llm.cached} cached answers, ${llm.promptTokens}+${llm.completionTokens} tokens`;
}

export function describeSummary(summary: Record<string, unknown>): string[] {
  const lines: string[] = [];
  if (summary.llm) lines.push(llmLine(summary.llm as LlmSummary));
  if (typeof summary.shardsWritten === 'number') lines.push(`  shard files: ${summary.shardsWritten} written, ${summary.shardsReused} re-used`);
  if (summary.skipped) lines.push(`  ${summary.skipped} file(s) skipped (reasons in manifest.json)`);
  const excluded = (summary.excluded as Array<{ source: string; code: string; message: string }> | undefined) ?? [];
  const failures = (summary.failures as unknown[] | undefined) ?? [];
  // Failed sources are listed with the failures; excluded ones only when nothing else failed.
  if (failures.length === 0 && excluded.length > 0) lines.push(`${excluded.length} source(s) excluded:`, ...excluded.map((x) => `  ${x.code} ${x.source}: ${x.message}`));
  const leftOut = (summary.hygiene as Array<{ source: string; code: string; reason: string }> | undefined) ?? [];
  lines.push(...leftOut.map((x) => `  left out by hygiene: ${x.code} ${x.source}: ${x.reason}`));
  return lines;
}

/** A build answered from the last one sent nothing and reused every answer. */
export function replaySummary(last: Record<string, unknown>): Record<string, unknown> {
  const llm = last.llm as (LlmSummary & { calls?: number }) | undefined;
  // Nothing written now: every shard file is the recorded version's.
  const shards = typeof last.shards === 'number' ? { shardsWritten: 0, shardsReused: last.shards } : {};
  if (!llm) return shards;
  // Only the totals: per-agent breakdowns describe the earlier build's work, not this one's.
  const flat = Object.fromEntries(Object.entries(llm).filter(([, v]) => typeof v !== 'object'));
  return { ...shards, llm: { ...flat, requests: 0, cached: llm.calls ?? llm.cached + llm.requests, promptTokens: 0, completionTokens: 0 } };
}

interface ManifestSource {
  name?: string;
  source?: unknown;
  commit?: string;
  files?: number;
  skipped?: unknown[];
  excluded?: { code: string };
}

interface PipelineManifest {
  format?: string;
  output?: { layout?: string; format?: string; compression?: string };
  tokenizer?: { name?: string; bos?: number; eos?: number };
  sources?: ManifestSource[];
  search?: Record<string, unknown>;
}

export function describeManifest(manifest: Record<string, unknown>): string[] {
  const m = manifest as PipelineManifest;
  const lines = [
    `  format ${m.format}, layout ${m.output?.layout}, ${m.output?.format}/${m.output?.compression}, tokenizer ${m.tokenizer?.name} (bos ${m.tokenizer?.bos}, eos ${m.tokenizer?.eos})`,
    '  sources:',
    ...(m.sources ?? []).map((s) => `    ${s.name ?? JSON.stringify(s.source)}${s.commit ? ' @' + s.commit.slice(0, 12) : ''}: ${s.files ?? 0} files, ${s.skipped?.length ?? 0} skipped${s.excluded ? `, EXCLUDED (${s.excluded.code})` : ''}`),
  ];
  lines.push(...formatShape((manifest as { shape?: Parameters<typeof formatShape>[0] }).shape));
  lines.push(...hygieneLines(manifest as Parameters<typeof hygieneLines>[0]));
  if (m.search) lines.push('  search:', ...Object.entries(m.search).map(([k, val]) => `    ${k}: ${typeof val === 'number' ? +val.toFixed(4) : JSON.stringify(val)}`));
  return lines;
}

interface DocEntry {
  id: string;
  text: string;
  tokens: number;
}

interface DocumentsDiff {
  added: string[];
  removed: string[];
  changed: Array<{ id: string; tokensA: number; tokensB: number }>;
}

/** Documents added, removed and changed (by text hash or token count). */
export const manifestDiff: ManifestDiff = {
  fields: ['documents'],
  diff(a, b) {
    const da = new Map(((a.documents ?? []) as DocEntry[]).map((d) => [d.id, d]));
    const db = new Map(((b.documents ?? []) as DocEntry[]).map((d) => [d.id, d]));
    const documents: DocumentsDiff = { added: [], removed: [], changed: [] };
    for (const [id, d] of db) {
      const old = da.get(id);
      if (!old) documents.added.push(id);
      else if (old.text !== d.text || old.tokens !== d.tokens) documents.changed.push({ id, tokensA: old.tokens, tokensB: d.tokens });
    }
    for (const id of da.keys()) if (!db.has(id)) documents.removed.push(id);
    return { documents };
  },
  format(sections) {
    const { added, removed, changed } = sections.documents as DocumentsDiff;
    return [
      `  documents: ${added.length} added, ${removed.length} removed, ${changed.length} changed`,
      ...added.map((id) => `    + ${id}`),
      ...removed.map((id) => `    - ${id}`),
      ...changed.map((c) => `    ~ ${c.id} (${c.tokensA} -> ${c.tokensB} tokens)`),
    ];
  },
};
