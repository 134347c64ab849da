/**
 * One build, start to finish: answer from the up-to-date record when nothing changed (before any
 * session opens), otherwise open a session, run the pipeline through the executor, write the version and summarise.
 */
import { loadConfig, type EngineConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import { initHash } from '../hash.ts';
import type { Pipeline } from '../pipeline.ts';
import { openSession, resolveDirs, type BuildOptions } from './session.ts';
import type { BuildSummary } from './summary.ts';
import { rememberUpToDate, upToDateKey, upToDateSummary } from './up-to-date.ts';
import { finishVersion } from './version.ts';

export async function runBuild<C extends EngineConfig>(pipeline: Pipeline<C>, opts: BuildOptions): Promise<BuildSummary> {
  const t0 = performance.now();
  // The up-to-date check comes before the session: a no-op opens no cache and starts nothing.
  await initHash();
  const loaded = await loadConfig(opts.config, pipeline.config);
  const noop = upToDateKey({ loaded, ...resolveDirs(loaded, opts) }, pipeline);
  // --recheck re-reads everything; --repair-cache must open (and repair) the cache.
  const previous = noop && !opts.recheck && !opts.repairCache && upToDateSummary(pipeline, noop);
  if (previous) {
    opts.reporter.done();
    return { ...previous, ms: Math.round(performance.now() - t0) };
  }
  let s = await openSession(pipeline, opts, 'build', loaded);
  try {
    let out = await pipeline.run(s.run);
    if (s.local.damaged) {
      // The cache environment turned out damaged while building: results read before that may
      // be unreadable now. Closing the session repairs it (salvage + this run's results); the
      // pipeline then runs once more on the repaired cache, computing only what was lost.
      await s.close();
      s = await openSession(pipeline, opts, 'build', loaded);
      out = await pipeline.run(s.run);
    }
    if (!out) throw new RetraceError('STAGE_FAILED', 'the pipeline returned no output from a build', { item: pipeline.name });
    const summary = await finishVersion(s, pipeline, opts, out, t0);
    if (noop && summary.failures.length === 0) rememberUpToDate(noop, summary, out.shards);
    return summary;
  } finally {
    await s.close();
  }
}
