/**
 * The executor: for each (stage, item) it computes the action key on the main thread, answers
 * from the cache when it can, and otherwise runs the stage and stores the result. Results are
 * keyed by the *content* of their inputs, so when a re-run stage produces the same output hash,
 * its dependents' keys do not change and they stay cached (early cutoff). Concurrent requests
 * for the same key share one computation. A failure is never cached.
 */
import { asRetraceError, RetraceError } from './errors.ts';
import type { ActionKey, ContentHash } from './hash.ts';
import { actionKey, diffKeyParts, type KeyChange, type KeyParts } from './key.ts';
import type { ActionRecord, Cache } from './cache/cache.ts';
import type { TaskPool } from './pool.ts';
import { jsonCodec, type StageContext, type StageDef } from './stage.ts';
import type { Reporter } from './reporter.ts';

export interface StageStats {
  items: number;
  cached: number;
  computed: number;
  /** Recomputed items whose output hash equalled the previous build's (early cutoff). */
  unchanged: number;
  failed: number;
  /**
   * Wall time during which at least one item of the stage was computing. Items overlap (worker
   * threads, concurrent LLM calls), so a sum of item times would overstate it.
   */
  ms: number;
  /** Sum of item compute times (>= ms when items overlap). */
  itemMs: number;
}

export interface StageResult<O> {
  value: O;
  hash: ContentHash;
  cached: boolean;
  key: ActionKey;
}

export interface Failure {
  stage: string;
  item: string;
  code: string;
  message: string;
  hint?: string;
}

/** Thrown in `status` mode when an item would have to be computed. */
export class StaleItem extends Error {
  constructor(
    readonly stage: string,
    readonly item: string,
    readonly changes: KeyChange[] | 'new',
  ) {
    super(`${stage} ${item} is stale`);
  }
}

export interface ExecutorOptions {
  cache: Cache;
  pool: TaskPool;
  reporter: Reporter;
  /** Disowns every result written under another salt (part of every key). */
  salt?: string;
  /** 'status' answers from the cache only and throws StaleItem instead of computing. */
  mode?: 'build' | 'status';
  signal?: AbortSignal;
}

export class Executor {
  readonly stats = new Map<string, StageStats>();
  readonly failures: Failure[] = [];
  readonly stale: StaleItem[] = [];
  /** Every action key this run answered or computed: the version's closure (cache/closure.ts). */
  readonly usedKeys = new Set<ActionKey>();
  private readonly inflight = new Map<ActionKey, Promise<StageResult<unknown>>>();
  /** Per stage: items computing now, and since when the stage has been busy. */
  private readonly busy = new Map<string, { running: number; since: number }>();
  private readonly opts: ExecutorOptions;
  private readonly signal: AbortSignal;

  constructor(opts: ExecutorOptions) {
    this.opts = opts;
    this.signal = opts.signal ?? new AbortController().signal;
  }

  get cache(): Cache {
    return this.opts.cache;
  }

  statsFor(stage: string): StageStats {
    let s = this.stats.get(stage);
    if (!s) {
      s = { items: 0, cached: 0, computed: 0, unchanged: 0, failed: 0, ms: 0, itemMs: 0 };
      this.stats.set(stage, s);
    }
    return s;
  }

  keyParts<I>(stage: StageDef<I, unknown>, input: I): KeyParts {
    const k = stage.key(input);
    const settings = this.opts.salt ? { ...k.settings, cacheSalt: this.opts.salt } : k.settings;
    return { stage: stage.name, version: stage.version, inputs: k.inputs, settings };
  }

  /** Run one item of a stage, or answer it from the cache. */
  async run<I, O>(stage: StageDef<I, O>, input: I): Promise<StageResult<O>> {
    const parts = this.keyParts(stage, input);
    const key = actionKey(parts);
    const item = stage.item(input);
    const existing = this.inflight.get(key);
    if (existing) {
      // Same key requested twice at once (identical files): answered by the one computation.
      const stats = this.statsFor(stage.name);
      stats.items++;
      stats.cached++;
      return { ...(await (existing as Promise<StageResult<O>>)), cached: true };
    }
    const p = this.runKeyed(stage, input, item, key, parts);
    this.inflight.set(key, p as Promise<StageResult<unknown>>);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  private enter(stage: string, now: number): void {
    const b = this.busy.get(stage) ?? { running: 0, since: now };
    if (b.running === 0) b.since = now;
    b.running++;
    this.busy.set(stage, b);
  }

  private leave(stage: string): void {
    const b = this.busy.get(stage)!;
    b.running--;
    if (b.running === 0) this.statsFor(stage).ms += performance.now() - b.since;
  }

  /** Look up a stage item without computing it (undefined on a miss). */
  async peek<I, O>(stage: StageDef<I, O>, input: I): Promise<StageResult<O> | undefined> {
    const parts = this.keyParts(stage, input);
    const key = actionKey(parts);
    const hit = await this.lookup(stage, key);
    if (hit) this.usedKeys.add(key);
    return hit ? { value: hit.value, hash: hit.record.output, cached: true, key } : undefined;
  }

  private async lookup<O>(stage: StageDef<unknown, O>, key: ActionKey): Promise<{ record: ActionRecord; value: O } | undefined> {
    const cache = this.opts.cache;
    const record = await cache.getAction(key);
    if (!record) return undefined;
    for (const ref of record.refs) if (!(await cache.hasBlob(ref))) return undefined;
    const bytes = await cache.getBlob(record.output);
    if (!bytes) return undefined;
    try {
      return { record, value: (stage.codec ?? jsonCodec<O>()).decode(bytes) };
    } catch {
      return undefined;
    }
  }

  private async runKeyed<I, O>(stage: StageDef<I, O>, input: I, item: string, key: ActionKey, parts: KeyParts): Promise<StageResult<O>> {
    const stats = this.statsFor(stage.name);
    stats.items++;
    const cache = this.opts.cache;
    const answer = async (hit: { record: ActionRecord; value: O }): Promise<StageResult<O>> => {
      stats.cached++;
      this.usedKeys.add(key);
      await cache.recordItem({ stage: stage.name, item, key, parts, output: hit.record.output, builtAt: hit.record.createdAt });
      this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: true });
      return { value: hit.value, hash: hit.record.output, cached: true, key };
    };
    const hit = await this.lookup(stage as StageDef<unknown, O>, key);
    if (hit) return answer(hit);
    const claims = stage.claim && this.opts.mode !== 'status' && !this.signal.aborted ? cache.claims : undefined;
    if (claims && (await claims.claim(key, this.signal)) === 'waited') {
      // Another build held the claim: its result is usually there now.
      const after = await this.lookup(stage as StageDef<unknown, O>, key);
      if (after) {
        await claims.release(key);
        return answer(after);
      }
    }
    try {
      return await this.compute(stage, input, item, key, parts);
    } finally {
      // The record is committed (or the computation failed) before the claim is let go.
      await claims?.release(key);
    }
  }

  private async compute<I, O>(stage: StageDef<I, O>, input: I, item: string, key: ActionKey, parts: KeyParts): Promise<StageResult<O>> {
    const stats = this.statsFor(stage.name);
    const cache = this.opts.cache;
    if (this.opts.mode === 'status') {
      const prev = await cache.getItem(stage.name, item);
      const stale = new StaleItem(stage.name, item, prev ? diffKeyParts(prev.parts, parts) : 'new');
      this.stale.push(stale);
      stats.items--;
      throw stale;
    }
    if (this.signal.aborted) throw new RetraceError('LLM_BUDGET_EXHAUSTED', 'build stopped before this item', { item });

    const refs = new Set<ContentHash>();
    const sizes: Record<string, number> = {};
    const ctx: StageContext = {
      item,
      pool: this.opts.pool,
      signal: this.signal,
      putBlob: async (bytes) => {
        const h = await cache.putBlob(bytes);
        refs.add(h);
        sizes[h] = bytes.byteLength;
        return h;
      },
      getBlob: async (hash) => {
        const bytes = await cache.getBlob(hash);
        if (!bytes) {
          throw new RetraceError('CACHE_CORRUPT', `blob ${hash} is missing or damaged`, {
            item,
            hint: 'run `retrace cache verify --repair`, then build again',
          });
        }
        return bytes;
      },
    };
    this.opts.reporter.emit({ type: 'item-start', stage: stage.name, item });
    const t0 = performance.now();
    this.enter(stage.name, t0);
    let value: O;
    try {
      value = await stage.run(input, ctx);
    } catch (err) {
      this.leave(stage.name);
      const e = asRetraceError(err, 'STAGE_FAILED', item);
      stats.failed++;
      this.failures.push({ stage: stage.name, item: e.item ?? item, code: e.code, message: e.message, hint: e.hint });
      this.opts.reporter.emit({ type: 'item-failed', stage: stage.name, item, error: e.describe() });
      throw e;
    }
    const ms = performance.now() - t0;
    this.leave(stage.name);
    const bytes = (stage.codec ?? jsonCodec<O>()).encode(value);
    const output = await cache.putBlob(bytes);
    sizes[output] = bytes.byteLength;
    const now = Date.now();
    // The blobs are committed before the record that points at them: a crash in between leaves
    // an orphan blob (collected by gc), never a record without its data.
    await cache.putAction(key, { format: 1, stage: stage.name, item, output, refs: [...refs], sizes, parts, ms: Math.round(ms), createdAt: now, usedAt: now });
    const prev = await cache.getItem(stage.name, item);
    if (prev && prev.output === output) stats.unchanged++;
    await cache.recordItem({ stage: stage.name, item, key, parts, output, builtAt: now });
    stats.computed++;
    this.usedKeys.add(key);
    stats.itemMs += ms;
    this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: false, ms });
    return { value, hash: output, cached: false, key };
  }
}
