/**
 * `retrace status`: the pipeline runs in 'status' mode, where the executor answers from the cache
 * only and collects every item it would have to compute, with the key parts that changed.
 */
import type { EngineConfig } from '../config.ts';
import type { KeyChange } from '../key.ts';
import type { Pipeline } from '../pipeline.ts';
import { openSession, type BuildOptions } from './session.ts';

export interface StatusReport {
  upToDate: boolean;
  stages: Record<string, { cached: number; stale: number }>;
  stale: Array<{ stage: string; item: string; reason: string[] | 'new'; changes: KeyChange[] }>;
  /** The pipeline's summary fields, when everything could be answered from the cache. */
  summary?: Record<string, unknown>;
  /** What the pipeline estimates a build would spend (e.g. llmCalls: an upper bound). */
  estimates: Record<string, number>;
  cacheDir: string;
}

/** What a build would do now: items answered from the cache, and the first stale items with why. */
export async function runStatus<C extends EngineConfig>(pipeline: Pipeline<C>, opts: BuildOptions): Promise<StatusReport> {
  const s = await openSession(pipeline, opts, 'status');
  try {
    const out = await pipeline.run(s.run);
    const stages: StatusReport['stages'] = {};
    for (const st of pipeline.stages) stages[st.name] = { cached: s.exec.statsFor(st.name).cached, stale: 0 };
    for (const x of s.exec.stale) (stages[x.stage] ??= { cached: 0, stale: 0 }).stale++;
    return {
      upToDate: s.exec.stale.length === 0,
      stages,
      stale: s.exec.stale.map((x) => ({
        stage: x.stage,
        item: x.item,
        reason: x.changes === 'new' ? 'new' : x.changes.map((c) => `${c.field}: ${short(c.before)} -> ${short(c.after)}`),
        // The raw key changes, for wording (an empty list: same key, result evicted or lost).
        changes: x.changes === 'new' ? [] : x.changes,
      })),
      ...(out ? { summary: out.summary } : {}),
      estimates: s.run.estimates,
      cacheDir: s.cacheDir,
    };
  } finally {
    await s.close();
  }
}

function short(v: unknown): string {
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t === undefined ? '(none)' : t.length > 60 ? t.slice(0, 57) + '...' : t;
}
