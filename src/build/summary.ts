/** What every build summary reports about the run itself: stage table, failures, time, cache. */
import type { EngineConfig } from '../config.ts';
import type { Executor, Failure, StageStats } from '../executor.ts';
import type { Pipeline } from '../pipeline.ts';
import type { Session } from './session.ts';

export type StageTable = Record<string, { items: number; cached: number; computed: number; unchanged: number; failed: number; ms: number }>;

export interface BuildSummary {
  name: string;
  version: string;
  path: string;
  documents: number;
  tokens: number;
  shards: number;
  stages: StageTable;
  failures: Failure[];
  ms: number;
  cacheDir: string;
  /** The pipeline's own fields (the Retrace pipeline: `llm`, `skipped`, `excluded`). */
  [k: string]: unknown;
}

export function runFields<C extends EngineConfig>(s: Session<C>, pipeline: Pipeline<C>, t0: number) {
  return {
    stages: stageTable(s.exec, pipeline),
    failures: sortedFailures(s.exec),
    ms: Math.round(performance.now() - t0),
    cacheDir: s.cacheDir,
    ...(s.remote ? { remote: s.remote.summary() } : {}),
  };
}

/** Failures in a stable order (items finish in any order when repositories build concurrently). */
export function sortedFailures(exec: Executor): Failure[] {
  return [...exec.failures].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
}

export function stageTable<C extends EngineConfig>(exec: Executor, pipeline: Pipeline<C>): StageTable {
  const out: StageTable = {};
  for (const s of pipeline.stages) {
    const st: StageStats = exec.statsFor(s.name);
    out[s.name] = { items: st.items, cached: st.cached, computed: st.computed, unchanged: st.unchanged, failed: st.failed, ms: Math.round(st.ms) };
  }
  return out;
}
