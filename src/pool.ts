/**
 * Worker threads for CPU-heavy work (tokenization, parsing). Keys are computed on the main
 * thread; a task names a module and gets plain data (strings, typed arrays) and returns plain
 * data. Modules are named by their TypeScript source URL. Under the `retrace` binary each one is
 * pre-built JavaScript (bin/retrace.js compiles the map __RETRACE_TASKS__ into the bundle) and
 * workers import only that; running from the sources, workers load them through tsx (worker.mjs).
 *
 * Tasks declare the V8 young-generation size that suits them, and each size gets its own set of
 * threads (started on first use). Measured on 2 cores (bench/tokenize.ts, bench/parse.ts):
 * tokenization allocates fast and scales 1.4x on 2 workers with V8's default young generation
 * (scavenges contend for the cores) but 1.8x with 64 MB; 16 MB costs no more CPU than 64 MB and
 * holds ~47 MB less per thread (stages/tokenize/stage.ts); parsing keeps RSS flat over long runs
 * (10 passes within 1.2x of 1) only with a small young generation (8 MB).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { RetraceError, registeredCodes, type ErrorCode } from './errors.ts';

export interface TaskOptions {
  /** Buffers moved to the worker instead of copied (the caller must not use them afterwards). */
  transfer?: ArrayBufferLike[];
  /** The item the task serves, for error messages. */
  item?: string;
  /** V8 young-generation cap for the worker that runs it, in MB (default: V8's own sizing). */
  youngGenerationMb?: number;
}

export interface TaskPool {
  /** Run `export default` of `moduleUrl` on `payload` in a worker. */
  run<T>(moduleUrl: string, payload: unknown, opts?: TaskOptions): Promise<T>;
  readonly threads: number;
  /**
   * Lets go of the threads of every set that has no task running or queued (the next task starts
   * new ones). A phase that follows all work of another (shards after parsing and tokenizing)
   * calls it, so threads holding the earlier phase's heaps and WASM memories do not stay alive
   * beside the new phase's (their idle timeout is 60 s). A set given at most TRIM_BELOW_TASKS
   * tasks is kept: its heaps are small, and a one-line edit's shard phase then reuses the thread
   * its one tokenize task started instead of starting another.
   */
  trim?(): Promise<void>;
  close(): Promise<void>;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/** Defined by bin/retrace.js's bundle: task module source URL -> URL of its pre-built JS. */
declare const __RETRACE_TASKS__: Readonly<Record<string, string>> | undefined;
const PREBUILT: Readonly<Record<string, string>> | undefined = typeof __RETRACE_TASKS__ === 'undefined' ? undefined : __RETRACE_TASKS__;

/** The module a worker imports for a task: its pre-built JS under the bundle, else the source. */
export function taskModuleUrl(moduleUrl: string): string {
  if (!PREBUILT || !/\.[cm]?ts$/.test(moduleUrl)) return moduleUrl;
  const built = PREBUILT[moduleUrl];
  if (!built) {
    throw new RetraceError('WORKER_FAILED', 'this task module was not pre-built, and workers run pre-built JavaScript only', {
      item: moduleUrl,
      hint: 'name task modules as new URL("./x.ts", import.meta.url) in the sources so bin/retrace.js builds them',
    });
  }
  return built;
}

let threadsStarted = 0;

/** `trim` keeps an idle set that was given at most this many tasks. */
export const TRIM_BELOW_TASKS = 32;

/** Worker threads started in this process so far (all pools): a build answered from the cache starts none. */
export function workerThreadsStarted(): number {
  return threadsStarted;
}

export class PiscinaPool implements TaskPool {
  readonly threads: number;
  private readonly pools = new Map<number, Promise<Piscina>>();
  /** Tasks running or queued, per set of threads (by young-generation size). */
  private readonly busy = new Map<number, number>();
  /** Tasks each set has been given since it started. */
  private readonly given = new Map<number, number>();

  /**
   * `keep` (`build --watch`): threads are kept between builds (no idle timeout, `trim` lets none
   * go), so the next build's tasks run on threads that have loaded their parsers and vocabulary.
   */
  constructor(
    threads = defaultThreads(),
    private readonly keep = false,
  ) {
    this.threads = threads;
  }

  /** Threads start on the first task: a build answered from the cache never starts one. */
  private start(youngMb: number): Promise<Piscina> {
    let pool = this.pools.get(youngMb);
    if (!pool) {
      pool = import('piscina').then(({ Piscina }) => {
        const p = new Piscina({
          filename: WORKER,
          minThreads: 0,
          maxThreads: this.threads,
          idleTimeout: this.keep ? Number.POSITIVE_INFINITY : 60_000,
          // STACK.md: with atomics, native addons' garbage outpaces finalizers in busy workers.
          atomics: 'disabled',
          // Nothing reads piscina's wait/run-time histograms; recording them cost ~5% of the main
          // thread of a cold build (a histogram update per task).
          recordTiming: false,
          // Under the bundle, workers refuse TypeScript modules instead of loading tsx.
          workerData: { prebuilt: PREBUILT !== undefined },
          ...(youngMb > 0 && { resourceLimits: { maxYoungGenerationSizeMb: youngMb } }),
        });
        p.on('workerCreate', () => threadsStarted++);
        return p;
      });
      this.pools.set(youngMb, pool);
    }
    return pool;
  }

  async run<T>(moduleUrl: string, payload: unknown, opts: TaskOptions = {}): Promise<T> {
    const young = opts.youngGenerationMb ?? 0;
    this.busy.set(young, (this.busy.get(young) ?? 0) + 1);
    this.given.set(young, (this.given.get(young) ?? 0) + 1);
    try {
      const url = taskModuleUrl(moduleUrl);
      const pool = await this.start(young);
      return (await pool.run({ moduleUrl: url, payload }, { transferList: opts.transfer as never })) as T;
    } catch (err) {
      if (err instanceof RetraceError) throw err;
      const e = err as Error & { code?: string; item?: string; hint?: string };
      // Errors cross the thread boundary as plain objects: rebuild a RetraceError with its code.
      if (e && typeof e.code === 'string' && registeredCodes().has(e.code)) {
        throw new RetraceError(e.code as ErrorCode, e.message, { item: e.item ?? opts.item, hint: e.hint });
      }
      throw new RetraceError('WORKER_FAILED', `worker task failed: ${e?.message ?? String(err)}`, { item: opts.item, cause: err });
    } finally {
      this.busy.set(young, this.busy.get(young)! - 1);
    }
  }

  async trim(): Promise<void> {
    if (this.keep) return;
    // A set that was given few tasks holds little (an edit's one parse, one tokenize): kept, so
    // the next phase's tasks of the same set run on threads already started.
    const idle = [...this.pools].filter(([young]) => (this.busy.get(young) ?? 0) === 0 && (this.given.get(young) ?? 0) > TRIM_BELOW_TASKS);
    for (const [young] of idle) {
      this.pools.delete(young);
      this.given.delete(young);
    }
    await Promise.all(idle.map(async ([, p]) => (await p).close()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map(async (p) => (await p).close()));
  }
}
