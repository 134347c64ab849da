/** `retrace build`, `retrace merge`, `retrace status`: the commands that run the pipeline. */
import type { Argv } from 'yargs';
import { runBuild, runMerge, runPartition, runStatus, watchBuilds, type BuildSummary, type StageTable } from '../src/build/index.ts';
import { loadConfig, type EngineConfig } from '../src/config.ts';
import { RetraceError } from '../src/errors.ts';
import type { Failure } from '../src/executor.ts';
import { resolvePartition } from '../src/partition.ts';
import type { Pipeline } from '../src/pipeline.ts';
import { NullReporter, type Reporter } from '../src/reporter.ts';
import { changeWords } from './why.ts';
import { errorText } from './error-text.ts';
import { common, interruptible, reporterFor, withEvents, type Common, type Result } from './common.ts';

function stageLines(stages: StageTable): string[] {
  // Stages this build did not use (e.g. raw rendering in a trajectory build) stay in --json only.
  return Object.entries(stages).filter(([, s]) => s.items > 0).map(([n, s]) => `  ${n.padEnd(17)} ${String(s.items).padStart(6)} items  ${String(s.cached).padStart(6)} cached  ${String(s.computed).padStart(6)} computed  ${(s.ms / 1000).toFixed(1).padStart(6)} s`);
}

function failureLines(failures: Failure[]): string[] {
  if (failures.length === 0) return [];
  return [`${failures.length} failure(s):`, ...failures.map((f) => `  ${f.code} ${f.stage} ${f.item}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`)];
}

function buildResult<C extends EngineConfig>(pipeline: Pipeline<C>, summary: BuildSummary): Result {
  return {
    value: summary,
    exitCode: summary.failures.length > 0 ? 3 : 0,
    text: [
      `built ${summary.name} version ${summary.version}${summary.partial ? ` (PARTIAL: ${summary.failures.length} item(s) failed${summary.latest ? '' : '; `latest` not moved, see --latest-partial'})` : ''}`,
      `  ${summary.path}`,
      `  ${summary.documents} documents, ${summary.tokens} tokens, ${summary.shards} shard(s), ${(summary.ms / 1000).toFixed(1)} s`,
      ...stageLines(summary.stages),
      ...(pipeline.describeSummary?.(summary) ?? []),
      ...failureLines(summary.failures),
    ].join('\n'),
  };
}

/** The options of `retrace build` (cli/main.ts fills them itself for a plain `build` without yargs). */
export type BuildArgs = Common & { workers?: number; recheck: boolean; shard?: string; strict: boolean; 'latest-partial': boolean; events: boolean; 'repair-cache': boolean; watch?: boolean };

/**
 * `retrace build --watch`: a build, then another after each change to an input, until Ctrl-C.
 * Each build's summary is printed as it finishes: --json gives one JSON object per line (JSON
 * Lines). Ctrl-C while waiting stops the watch (exit 0); during a build it interrupts that build
 * as in a one-shot build (exit 130, everything finished kept in the cache).
 */
async function watchCommand<C extends EngineConfig>(pipeline: Pipeline<C>, a: BuildArgs): Promise<Result> {
  if (a.shard !== undefined) throw new RetraceError('USAGE', '--watch builds the whole dataset; it does not combine with --shard', { item: '--watch', hint: 'drop --shard, or --watch' });
  const stop = new AbortController();
  let reporter: Reporter | undefined;
  let exitCode: 0 | 1 | 3 = 0;
  const onInt = (): void => {
    if (!reporter) {
      stop.abort();
      return;
    }
    reporter.done();
    process.stderr.write(`\ninterrupted: finished items are kept in the cache and no version was written for this change; run the build again to resume\n`);
    process.removeAllListeners('SIGINT');
    process.kill(process.pid, 'SIGINT');
  };
  process.on('SIGINT', onInt);
  try {
    await watchBuilds(pipeline, { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, workers: a.workers, recheck: a.recheck, repairCache: a['repair-cache'], strict: a.strict, latestPartial: a['latest-partial'] }, {
      reporter: () => (reporter = reporterFor(a.json, a.events)),
      built: (summary, quiet) => {
        reporter = undefined;
        const r = buildResult(pipeline, summary);
        exitCode = r.exitCode ?? 0;
        if (!quiet) process.stdout.write((a.json ? JSON.stringify(summary) : r.text) + '\n');
      },
      failed: (err) => {
        reporter?.done();
        reporter = undefined;
        exitCode = 1;
        process.stderr.write(errorText(err).text + '(still watching: the next change builds again)\n');
      },
      waiting: (paths, polling) => {
        reporter = undefined;
        if (a.events) process.stderr.write(JSON.stringify({ event: 'watching', paths: paths.length, polling }) + '\n');
        else if (!a.json) process.stderr.write(`watching ${paths.length} path(s) for changes${polling ? ' (some polled)' : ''}; Ctrl-C to stop\n`);
      },
      warn: (code, item, message) => process.stderr.write(`warning ${code} ${item}: ${message}\n`),
    }, stop.signal);
  } finally {
    process.off('SIGINT', onInt);
  }
  if (!a.json) process.stderr.write('stopped watching\n');
  // The summaries are printed; the exit code is the last build's.
  return { value: undefined, text: '', exitCode, printed: true };
}

/** `retrace build`: the whole build, or one partition with --shard. */
export async function buildCommand<C extends EngineConfig>(pipeline: Pipeline<C>, a: BuildArgs): Promise<Result> {
  if (a.watch) return watchCommand(pipeline, a);
  const opts = { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, workers: a.workers, recheck: a.recheck, repairCache: a['repair-cache'], strict: a.strict, latestPartial: a['latest-partial'], reporter: reporterFor(a.json, a.events) };
  if (a.shard === undefined) return buildResult(pipeline, await interruptible(opts.reporter, a['cache-dir'], () => runBuild(pipeline, opts)));
  const loaded = await loadConfig(a.config, pipeline.config);
  const partition = resolvePartition(a.shard, process.env, loaded.config.partitions);
  const p = await runPartition(pipeline, { ...opts, partition });
  return {
    value: p,
    exitCode: p.failures.length > 0 ? 3 : 0,
    text: [
      `built partition ${partition.index}/${partition.count} of ${p.name}: ${p.sources} source(s), ${p.documents} document(s), ${(p.ms / 1000).toFixed(1)} s`,
      ...stageLines(p.stages),
      ...(pipeline.describeSummary?.({ ...p, failures: [] }) ?? []),
      ...failureLines(p.failures),
      `when every partition is built: retrace merge --shards ${partition.count}`,
    ].join('\n'),
  };
}

export function buildCommands<C extends EngineConfig, T>(y: Argv<T>, pipeline: Pipeline<C>, run: (handler: (a: any) => Promise<Result>) => (a: any) => Promise<void>): Argv<T> {
  return y
    .command(
      'build',
      'build the dataset: only what changed since the last build is computed',
      (yy) =>
        withEvents(common(yy))
          .option('workers', { type: 'number', describe: 'worker threads for parsing and tokenization (default: config `workers`, else all cores)' })
          .check((x) => (x.workers === undefined || (Number.isInteger(x.workers) && x.workers >= 1) ? true : '--workers must be a whole number >= 1'))
          .option('repair-cache', { type: 'boolean', default: false, describe: 'if the local cache environment is damaged, repair it first (as `retrace cache verify --repair`) instead of stopping' })
          .option('recheck', { type: 'boolean', default: false, describe: 'do not trust file stats: re-read and re-hash every input even when nothing seems to have changed since the last build' })
          .option('strict', { type: 'boolean', default: false, describe: 'fail (exit 1) without writing a version when any item failed; what succeeded stays cached' })
          .option('latest-partial', { type: 'boolean', default: false, describe: 'move `latest` to the new version even when it is partial (some items failed); by default `latest` names complete versions only' })
          .option('watch', { type: 'boolean', default: false, describe: 'build, then build again after each change to a source, prompt or the config, until Ctrl-C; workers stay started between builds, so a rebuild costs what the change invalidates (--json: one summary per line)' })
          .option('shard', { type: 'string', describe: 'scale-out worker: build only partition I of N (I/N, zero-based), or `auto` to take it from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX; then run `retrace merge`' })
          .example('$0 build --json', 'build and print the summary as JSON')
          .example('$0 build --watch', 'rebuild on every change to the inputs (Ctrl-C to stop)')
          .example('$0 build --shard 2/8', 'scale-out: build partition 2 of 8 into the (shared) cache'),
      run((a: BuildArgs) => buildCommand(pipeline, a)),
    )
    .command(
      'merge',
      'scale-out: assemble the dataset version from the partitions that `build --shard I/N` workers left in the shared cache (computes only the shard files)',
      (yy) =>
        withEvents(common(yy))
          .option('shards', { type: 'number', describe: 'the number of partitions N (default: config `partitions`)' })
          .option('strict', { type: 'boolean', default: false, describe: 'fail without writing a version when any item failed' })
          .option('latest-partial', { type: 'boolean', default: false, describe: 'move `latest` to the version even when it is partial' }),
      run(async (a: Common & { shards?: number; strict: boolean; 'latest-partial': boolean; events: boolean }) => {
        const loaded = await loadConfig(a.config, pipeline.config);
        const count = a.shards ?? loaded.config.partitions;
        if (!count || count < 1) throw new RetraceError('USAGE', 'the number of partitions is unknown', { hint: 'give --shards N, or set `partitions` in the config' });
        const reporter = reporterFor(a.json, a.events);
        return buildResult(pipeline, await interruptible(reporter, a['cache-dir'], () => runMerge(pipeline, { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, reporter, count, strict: a.strict, latestPartial: a['latest-partial'] })));
      }),
    )
    .command(
      'status',
      'what a build would compute now, and why (answers from the cache only; computes nothing)',
      (yy) => common(yy),
      run(async (a: Common) => {
        const st = await runStatus(pipeline, { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, reporter: new NullReporter() });
        const lines = [st.upToDate ? 'up to date: a build would compute nothing' : 'stale: a build would compute'];
        // The same unit as `build`: stage items. Stages this format never reaches stay in --json only.
        for (const [n, s] of Object.entries(st.stages)) if (s.cached + s.stale > 0) lines.push(`  ${n.padEnd(17)} ${String(s.cached).padStart(6)} items cached  ${String(s.stale).padStart(6)} stale`);
        for (const s of st.stale.slice(0, 50)) {
          const why = s.reason === 'new' ? 'never built' : s.reason.length === 0 ? 'same inputs, but its cached result was evicted (cache gc) or lost: it will be recomputed' : s.changes.map((c) => changeWords(s.item, c)).join('; ');
          lines.push(`  ${s.stage} ${s.item}: ${why}`);
        }
        if (st.stale.length > 50) lines.push(`  ... and ${st.stale.length - 50} more`);
        if (!st.upToDate) lines.push('  (items downstream of a stale item are checked once it is rebuilt)');
        const est = st.estimates;
        if (est.llmCalls !== undefined) lines.push(`  estimate: at most ${est.llmCalls} LLM call(s)${est.staleRepositories !== undefined ? ` for the ${est.staleRepositories} stale repository(ies)` : ''}`);
        for (const [what, n] of Object.entries(est)) if (what !== 'llmCalls' && what !== 'staleRepositories') lines.push(`  estimate: ${what} ${n}`);
        const { summary, ...rest } = st;
        return { value: { ...rest, ...summary }, text: lines.join('\n') };
      }),
    );
}
