/**
 * `retrace build --watch`: build, wait for a change to an input, build again, in one process.
 * The worker pool is kept between builds (its threads keep their parsers and the tokenizer's
 * vocabulary loaded), and so is the process's compiled code: a rebuild after a one-line edit pays
 * for what the edit changed, not for starting a process and its workers (issue 17).
 *
 * What is watched: the config file and the pipeline's `watchPaths` (its inputs: source folders,
 * archives, local git repositories, prompt folders), less the cache and datasets folders. A
 * change starts a build after a quiet 200 ms; the build's up-to-date check decides whether
 * anything is computed (an event that changed no stamp is a no-op, not reported). Where a path
 * cannot be watched (inotify's watch limit, a path that does not exist yet), the inputs' stamp is
 * polled every 2 s instead (WATCH_POLLING). Each build opens and closes its own session (cache,
 * leases, executor), as a one-shot build does. A build that fails as a whole (a config with an
 * error) is reported and the watch goes on. Retrace's own code changing on disk ends the watch
 * (WATCH_CODE_CHANGED): this process would go on building with the old code.
 */
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { loadConfig, type EngineConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import type { Pipeline } from '../pipeline.ts';
import { PiscinaPool } from '../pool.ts';
import type { Reporter } from '../reporter.ts';
import { codeStamp } from './code-stamp.ts';
import { runBuild } from './run.ts';
import { resolveDirs, type BuildOptions } from './session.ts';
import type { BuildSummary } from './summary.ts';
import { upToDateKey } from './up-to-date.ts';

export interface WatchHooks {
  /** The reporter of the next build (one per build: it is done when the build ends). */
  reporter(): Reporter;
  /**
   * A build finished. `quiet`: it was answered up-to-date after the first (a change event that
   * left every input stamp as it was, e.g. a file saved unchanged or a broken config put back).
   */
  built(summary: BuildSummary, quiet: boolean): void;
  /** A build failed as a whole (a config with an error, say); the watch goes on. */
  failed(err: unknown): void;
  /** Waiting for a change: the paths watched, or polled. */
  waiting(paths: string[], polling: boolean): void;
  /** A coded warning (WATCH_POLLING). */
  warn(code: 'WATCH_POLLING', item: string, message: string): void;
}

/** Quiet time after the last change before a build starts (an editor's save is several events). */
const SETTLE_MS = 200;
const POLL_MS = 2000;

/** Builds until `signal` aborts (resolves) or Retrace's code changes (throws WATCH_CODE_CHANGED). */
export async function watchBuilds<C extends EngineConfig>(pipeline: Pipeline<C>, opts: Omit<BuildOptions, 'reporter' | 'pool'>, hooks: WatchHooks, signal: AbortSignal): Promise<void> {
  const code = codeStamp(pipeline);
  const inputs = new Inputs(hooks);
  let pool: PiscinaPool | undefined;
  let first = true;
  try {
    while (!signal.aborted) {
      // Watching starts before the build: a change saved while it runs starts the next one.
      inputs.changed = false;
      try {
        const loaded = await loadConfig(opts.config, pipeline.config);
        const dirs = resolveDirs(loaded, opts);
        // A copy per call: the pipeline memoises stamps per loaded config, and polling wants them taken afresh.
        inputs.watch([loaded.path, ...(pipeline.watchPaths?.(loaded) ?? [])], [dirs.cacheDir, dirs.outDir], () => upToDateKey({ loaded: { ...loaded }, ...dirs }, pipeline)?.key);
        const threads = opts.workers ?? loaded.config.workers;
        if (!pool || (threads !== undefined && pool.threads !== threads)) {
          await pool?.close();
          pool = new PiscinaPool(threads, true);
        }
        const summary = await runBuild(pipeline, { ...opts, reporter: hooks.reporter(), pool });
        hooks.built(summary, !first && summary.upToDate === true);
        // Idle until the next change: the kept threads load what the next build's tasks need.
        pipeline.warm?.(loaded, pool);
      } catch (err) {
        // The config itself may be what is broken: keep watching it (and what was watched).
        inputs.watch([...inputs.paths, resolve(opts.config)], inputs.excluded, undefined);
        hooks.failed(err);
      }
      first = false;
      if (signal.aborted) break;
      hooks.waiting(inputs.paths, inputs.polling);
      await inputs.next(signal);
      if (signal.aborted) break;
      if (codeStamp(pipeline) !== code) {
        throw new RetraceError('WATCH_CODE_CHANGED', "Retrace's own code changed on disk since this watch started", {
          item: 'build --watch',
          hint: 'start `retrace build --watch` again: it builds with the new code (what is cached stays valid)',
        });
      }
    }
  } finally {
    inputs.close();
    await pool?.close();
  }
}

/** The watched inputs: a change under any path (not under an excluded folder) sets `changed`. */
class Inputs {
  paths: string[] = [];
  excluded: string[] = [];
  changed = false;
  polling = false;
  /** Per path: its watcher, and whether it watches the parent for the path to appear. */
  private readonly watchers = new Map<string, { w: FSWatcher; parent: boolean }>();
  private poll: NodeJS.Timeout | undefined;
  private stamp: (() => string | undefined) | undefined;
  private lastStamp: string | undefined;
  private wake: (() => void) | undefined;
  private settle: NodeJS.Timeout | undefined;

  constructor(private readonly hooks: WatchHooks) {}

  /** Watch exactly these paths from now on (the ones kept are not re-opened). */
  watch(paths: string[], excluded: string[], stamp: (() => string | undefined) | undefined): void {
    this.paths = [...new Set(paths)];
    this.excluded = excluded;
    if (stamp) this.stamp = stamp;
    for (const [p, { w, parent }] of this.watchers) {
      // Gone from the list; there now where its parent was watched; or gone where it was watched
      // itself (a deleted folder's watch sees nothing more): closed, and opened again as it is now.
      if (!this.paths.includes(p) || parent === existsSync(p)) {
        w.close();
        this.watchers.delete(p);
      }
    }
    for (const p of this.paths) if (!this.watchers.has(p)) this.open(p);
  }

  private open(p: string): void {
    try {
      let w: FSWatcher;
      const missing = !existsSync(p);
      if (missing) {
        // Not there yet (a source folder to come): its parent is watched for it to appear.
        const parent = dirname(p);
        w = watch(parent, (_e, name) => this.event(name ? resolve(parent, name.toString()) : undefined));
      } else {
        const dir = statSync(p).isDirectory();
        w = watch(p, { recursive: dir }, (_e, name) => this.event(dir && name ? resolve(p, name.toString()) : p));
      }
      w.on('error', (err: NodeJS.ErrnoException) => this.startPolling(p, `watching it failed (${err.code ?? err.message})`));
      this.watchers.set(p, { w, parent: missing });
    } catch (err) {
      this.startPolling(p, `it cannot be watched (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }

  private startPolling(item: string, why: string): void {
    this.hooks.warn('WATCH_POLLING', item, `${why}; the inputs are polled every ${POLL_MS / 1000} s instead`);
    if (this.polling) return;
    this.polling = true;
    this.lastStamp = this.polled();
    this.poll = setInterval(() => {
      const now = this.polled();
      if (now !== this.lastStamp) {
        this.lastStamp = now;
        this.event(undefined);
      }
    }, POLL_MS);
  }

  /** What polling compares: the inputs' stamp (none while a source is missing) and which watched paths exist. */
  private polled(): string {
    let stamp: string;
    try {
      stamp = this.stamp?.() ?? '';
    } catch {
      stamp = '(unreadable)'; // the build that follows says what is wrong
    }
    return `${stamp}|${this.paths.map((p) => (existsSync(p) ? 1 : 0)).join('')}`;
  }

  private event(abs: string | undefined): void {
    if (abs && this.excluded.some((x) => abs === x || abs.startsWith(x + sep))) return;
    this.changed = true;
    if (!this.wake) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.wake?.(), SETTLE_MS);
  }

  /** Resolves SETTLE_MS after the last change (at once if one came since `changed` was cleared, once it settles), or on abort. */
  next(signal: AbortSignal): Promise<void> {
    return new Promise((done) => {
      const finish = () => {
        clearTimeout(this.settle);
        this.wake = undefined;
        signal.removeEventListener('abort', finish);
        done();
      };
      signal.addEventListener('abort', finish);
      this.wake = finish;
      if (this.changed) this.settle = setTimeout(finish, SETTLE_MS);
    });
  }

  close(): void {
    for (const { w } of this.watchers.values()) w.close();
    this.watchers.clear();
    clearInterval(this.poll);
    clearTimeout(this.settle);
  }
}
