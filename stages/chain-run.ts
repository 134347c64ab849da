/**
 * A repository's chain runs its items through the executor the memo around it gives
 * (source-memo.ts: Executor.memo passes it), so they count as that memo's: keys, counts,
 * tallies, failures. The chain sees the build's run with that executor (`chainRun`); what is
 * kept per build (the LLM and search sessions) is kept for the build's own run (`buildRun`).
 */
import type { Executor } from '../src/executor.ts';
import type { PipelineRun } from './config.ts';

const builds = new WeakMap<PipelineRun, PipelineRun>();

/** The build's run as a chain running through `exec` sees it. */
export function chainRun(run: PipelineRun, exec: Executor): PipelineRun {
  if (run.exec === exec) return run;
  const build = buildRun(run);
  const chain: PipelineRun = { ...build, exec };
  builds.set(chain, build);
  return chain;
}

/** The build's own run, from any chain's view of it. */
export function buildRun(run: PipelineRun): PipelineRun {
  return builds.get(run) ?? run;
}
