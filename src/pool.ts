/**
 * Worker threads for CPU-heavy work (tokenization, parsing). Keys are computed on the main
 * thread; a task names a module and gets plain data (strings, typed arrays) and returns plain
 * data. Modules are TypeScript, loaded in workers through tsx's loader (see worker.mjs).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { RetraceError } from './errors.ts';

export interface TaskPool {
  /** Run `export default` of `moduleUrl` on `payload` in a worker. */
  run<T>(moduleUrl: string, payload: unknown, opts?: { transfer?: ArrayBufferLike[]; item?: string }): Promise<T>;
  readonly threads: number;
  close(): Promise<void>;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

export class PiscinaPool implements TaskPool {
  readonly threads: number;
  private piscina: Promise<Piscina> | undefined;

  constructor(threads = defaultThreads()) {
    this.threads = threads;
  }

  /** Threads start on the first task: a build answered from the cache never starts one. */
  private start(): Promise<Piscina> {
    const threads = this.threads;
    this.piscina ??= import('piscina').then(({ Piscina }) => new Piscina({
      filename: WORKER,
      minThreads: 0,
      maxThreads: threads,
      idleTimeout: 60_000,
      // STACK.md: with atomics, native addons' garbage outpaces finalizers in busy workers.
      atomics: 'disabled',
    }));
    return this.piscina;
  }

  async run<T>(moduleUrl: string, payload: unknown, opts: { transfer?: ArrayBufferLike[]; item?: string } = {}): Promise<T> {
    try {
      return (await (await this.start()).run({ moduleUrl, payload }, { transferList: opts.transfer as never })) as T;
    } catch (err) {
      if (err instanceof RetraceError) throw err;
      const e = err as Error & { code?: string; item?: string; hint?: string };
      // Errors cross the thread boundary as plain objects: rebuild a RetraceError with its code.
      if (e && typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code)) {
        throw new RetraceError(e.code as never, e.message, { item: e.item ?? opts.item, hint: e.hint });
      }
      throw new RetraceError('WORKER_FAILED', `worker task failed: ${e?.message ?? String(err)}`, { item: opts.item, cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.piscina) await (await this.piscina).close();
  }
}

/** Runs tasks on the calling thread: for tests and for tiny jobs where a thread costs more. */
export class InlinePool implements TaskPool {
  readonly threads = 1;
  async run<T>(moduleUrl: string, payload: unknown): Promise<T> {
    const mod = (await import(moduleUrl)) as { default: (p: unknown) => T | Promise<T> };
    return await mod.default(payload);
  }
  async close(): Promise<void> {}
}
