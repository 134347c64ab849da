/**
 * The executor: for each (stage, item) it computes the action key on the main thread, answers
 * from the cache when it can, and otherwise runs the stage and stores the result. Results are
 * keyed by the *content* of their inputs, so when a re-run stage produces the same output hash,
 * its dependents' keys do not change and they stay cached (early cutoff). Concurrent requests
 * for the same key share one computation. A failure is never cached.
 */
import { asRetraceError, checkCode, RetraceError } from './errors.ts';
import type { ActionKey, ContentHash } from './hash.ts';
import { actionKey, diffKeyParts, type KeyChange, type KeyParts } from './key.ts';
import type { ActionRecord, Cache, ReadFor } from './cache/cache.ts';
import { UsedKeys } from './cache/closure.ts';
import { FRESH_MS } from './cache/lease.ts';
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

/** The outcome of a chain of work (`attempt`): a value, not an exception. */
export type Outcome<T> = { ok: true; value: T; stale?: undefined; error?: undefined } | { ok: false; stale: true; error?: undefined } | { ok: false; error: RetraceError; stale?: undefined };

/**
 * What a chain of work did (Executor.memo): the action keys it answered or computed, its items
 * per stage, failures recorded in it, and counters the pipeline keeps for it (`tally`).
 */
interface Trace {
  keys: Set<ActionKey>;
  items: Record<string, number>;
  tallies: Record<string, number>;
  failed: number;
  parent?: Trace;
}

/** A memo's stored output: the chain's value and what replays it. */
interface MemoEntry<O> {
  format: 1;
  value: O;
  keys: ActionKey[];
  items: Record<string, number>;
  tallies: Record<string, number>;
  /**
   * The cache's removal mark (Cache.removalMark) from before the chain ran until it was stored:
   * while the cache still shows it, nothing the entry names can have been removed.
   */
  mark?: string;
}

export interface MemoResult<O> {
  value: O;
  cached: boolean;
  /** The chain's tallies (`tally`) as its run counted them: a hit's caller replays them. */
  tallies: Record<string, number>;
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
  /**
   * Forget a cached result whose output does not decode (the local tier's dropAction). Without
   * it, the executor only reports it (CACHE_ENTRY_DROPPED) and recomputes.
   */
  dropAction?: (key: ActionKey, reason: string, known: { stage: string; item: string }) => void;
  /** Keys per chunk of the version root (cache/closure.ts ROOT_CHUNK_KEYS); tests set it small. */
  rootChunkKeys?: number;
}

/**
 * A memo hit whose record was last stamped as used longer ago than this reads its chain's
 * records, which stamps theirs too (gc by age): the window in which the store re-stamps a
 * record it reads (cache/lease.ts), so the memo and its chain are stamped together.
 */
const USE_REFRESH_MS = FRESH_MS;

export class Executor {
  readonly stats = new Map<string, StageStats>();
  readonly failures: Failure[] = [];
  /** Errors already recorded as failures (an error passes several boundaries on its way up). */
  private readonly recorded = new WeakSet<RetraceError>();
  readonly stale: StaleItem[] = [];
  /**
   * Every action key this run answered or computed: the version's closure (cache/closure.ts),
   * streamed to the cache in chunks as the build goes (none in status mode, which records no root).
   */
  readonly usedKeys: UsedKeys;
  private readonly inflight = new Map<ActionKey, Promise<StageResult<unknown>>>();
  /** Per stage: items computing now, and since when the stage has been busy. */
  private readonly busy = new Map<string, { running: number; since: number }>();
  private readonly opts: ExecutorOptions;
  private readonly signal: AbortSignal;
  /**
   * The memo chains whose items run through this executor (innermost first, linked by parent):
   * none on the build's executor; a chain's view of it has its memo's (`within`). Passed along
   * explicitly rather than kept in an AsyncLocalStorage, which turns on a promise hook for every
   * promise of the process (~1.2 s of a 200-package build's main thread, ~9% of its CPU).
   */
  private readonly trace: Trace | undefined;

  constructor(opts: ExecutorOptions) {
    this.opts = opts;
    this.signal = opts.signal ?? new AbortController().signal;
    this.usedKeys = new UsedKeys(opts.mode === 'status' ? undefined : opts.cache, opts.rootChunkKeys);
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
      // Same key requested twice at once (the same file in two repositories): answered by the one
      // computation, but counted, recorded (explain history) and failed as an item of its own.
      const stats = this.statsFor(stage.name);
      stats.items++;
      let shared: StageResult<O>;
      try {
        shared = await (existing as Promise<StageResult<O>>);
      } catch (err) {
        if (err instanceof StaleItem) {
          // status mode: this item is stale too, with its own history.
          const prev = await this.opts.cache.getItem(stage.name, item);
          const stale = new StaleItem(stage.name, item, prev ? diffKeyParts(prev.parts, parts) : 'new');
          this.stale.push(stale);
          stats.items--;
          throw stale;
        }
        const e = asRetraceError(err, 'STAGE_FAILED', item);
        // Counted as the computing item was: a stage failure it recorded is this item's failure
        // too; an error it did not record (the build stopping, a cache error) is passed on as is.
        if (!this.recorded.has(e)) throw e;
        throw this.fail(stage.name, item, new RetraceError(e.code, e.message, { item, hint: e.hint, cause: e }));
      }
      stats.cached++;
      this.use(stage.name, key, true);
      const record = await this.opts.cache.getAction(key);
      await this.opts.cache.recordItem({ stage: stage.name, item, key, parts, output: shared.hash, builtAt: record?.createdAt ?? Date.now() });
      this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: true });
      return { ...shared, cached: true };
    }
    const p = this.runKeyed(stage, input, item, key, parts);
    this.inflight.set(key, p as Promise<StageResult<unknown>>);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  /**
   * Record a failure of `item` in `stage`: the one place failures are written (counted, listed in
   * the summary, reported). Returns the error so callers can `throw this.fail(...)`.
   */
  fail(stage: string, item: string, error: RetraceError): RetraceError {
    checkCode(error.code);
    if (this.recorded.has(error)) return error;
    this.recorded.add(error);
    for (let t = this.trace; t; t = t.parent) t.failed++;
    this.statsFor(stage).failed++;
    this.failures.push({ stage, item: error.item ?? item, code: error.code, message: error.message, hint: error.hint });
    this.opts.reporter.emit({ type: 'item-failed', stage, item: error.item ?? item, error: error.describe() });
    return error;
  }

  /**
   * Run a chain of work for one item (e.g. everything a repository needs) and return its outcome
   * as a value: its result, 'stale' (status mode: some item of the chain must be computed), or the
   * error, recorded as a failure of `stage`/`item` unless a stage item already recorded it.
   * Exceptions of the chain stop here.
   */
  async attempt<T>(stage: string, item: string, fn: () => Promise<T>, opts: { itemOf?: (e: RetraceError) => string } = {}): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if (err instanceof StaleItem) return { ok: false, stale: true };
      const e = asRetraceError(err, 'STAGE_FAILED', item);
      if (this.recorded.has(e)) return { ok: false, error: e };
      const named = opts.itemOf ? opts.itemOf(e) : (e.item ?? item);
      return { ok: false, error: this.fail(stage, named, named === e.item ? e : new RetraceError(e.code, e.message, { item: named, hint: e.hint, cause: e })) };
    }
  }

  /** A key the build answered or computed: part of the version's closure, and of every memo chain running it. */
  private use(stage: string, key: ActionKey, counted: boolean): void {
    this.usedKeys.add(key);
    for (let t = this.trace; t; t = t.parent) {
      t.keys.add(key);
      if (counted) t.items[stage] = (t.items[stage] ?? 0) + 1;
    }
  }

  /**
   * Count `n` of something the pipeline keeps per build (e.g. LLM calls by agent) for every memo
   * chain running now, so a memo hit can give the counts back to replay (`MemoResult.tallies`).
   */
  tally(name: string, n = 1): void {
    for (let t = this.trace; t; t = t.parent) t.tallies[name] = (t.tallies[name] ?? 0) + n;
  }

  /**
   * A memo over a chain of work: `stage.run` runs the chain (stage items through this
   * executor), keyed by what decides every key in it (for Retrace: a repository's stat stamp,
   * the code, the settings). A hit answers the chain's value without running any of it: its
   * action keys must all still be present (else it is a miss), they join the version's closure
   * as if answered one by one, its items count as cached in their stages' stats, and its
   * tallies come back for the caller to replay. A miss runs the chain under a trace and stores
   * the value with the trace, unless an item of the chain failed (a failure is never cached)
   * or this is `status`, which stores nothing. Refs are the blobs the value names
   * (`StageDef.valueRefs`, and any the chain stored through its own context): a hit checks them
   * like any hit's refs, while the chain's records are only checked to exist.
   */
  async memo<I, O>(stage: StageDef<I, O>, input: I): Promise<MemoResult<O>> {
    const parts = this.keyParts(stage, input);
    const key = actionKey(parts);
    const item = stage.item(input);
    const stats = this.statsFor(stage.name);
    stats.items++;
    const cache = this.opts.cache;
    const hit = await this.memoHit<O>(stage.name, key, item);
    if (hit) {
      stats.cached++;
      // As if the chain's items were answered one by one (keys, counts); not the tallies: the
      // caller replays them, which tallies them again.
      this.use(stage.name, key, false);
      for (const k of hit.keys) this.use(stage.name, k, false);
      for (const [name, n] of Object.entries(hit.items)) {
        const st = this.statsFor(name);
        st.items += n;
        st.cached += n;
        for (let t = this.trace; t; t = t.parent) t.items[name] = (t.items[name] ?? 0) + n;
      }
      this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: true });
      return { value: hit.value, cached: true, tallies: hit.tallies };
    }
    const trace: Trace = { keys: new Set(), items: {}, tallies: {}, failed: 0, parent: this.trace };
    const mark = cache.removalMark?.(); // before any key of the chain is read or written
    const { ctx, refs, sizes } = this.context(stage.name, item);
    const t0 = performance.now();
    let value: O;
    try {
      value = await stage.run(input, { ...ctx, exec: this.within(trace) });
    } catch (err) {
      stats.items--; // the chain's failing item is counted (and recorded) in its own stage
      throw err;
    }
    const ms = performance.now() - t0;
    if (trace.failed > 0 || this.opts.mode === 'status' || this.signal.aborted) {
      stats.items--; // not an item of its own: its chain's items were counted
      return { value, cached: false, tallies: trace.tallies };
    }
    for (const h of stage.valueRefs?.(value) ?? []) refs.add(h);
    const entry: MemoEntry<O> = { format: 1, value, keys: [...trace.keys], items: trace.items, tallies: trace.tallies };
    if (mark !== undefined && cache.removalMark?.() === mark) entry.mark = mark;
    const bytes = jsonCodec<MemoEntry<O>>().encode(entry);
    const output = await cache.putBlob(bytes);
    const now = Date.now();
    sizes[output] = bytes.byteLength;
    await cache.putAction(key, { format: 1, stage: stage.name, item, output, refs: [...refs], sizes, parts, ms: Math.round(ms), createdAt: now, usedAt: now });
    await cache.recordItem({ stage: stage.name, item, key, parts, output, builtAt: now });
    stats.computed++;
    this.use(stage.name, key, false);
    return { value, cached: false, tallies: trace.tallies };
  }

  /**
   * This executor as a memo's chain sees it: items run through the view also count in `trace`
   * (and in the traces around it). State is the executor's own (the view is an object whose
   * prototype is the executor): only the trace differs.
   */
  private within(trace: Trace): Executor {
    return Object.create(this, { trace: { value: trace } }) as Executor;
  }

  /** A memo's stored entry, if it still answers: its record, its chain's records and its refs all there. */
  private async memoHit<O>(name: string, key: ActionKey, item: string): Promise<MemoEntry<O> | undefined> {
    const cache = this.opts.cache;
    const at: ReadFor = { stage: name, item };
    const record = await cache.getAction(key, at);
    if (!record) return undefined;
    const bytes = await cache.getBlob(record.output, at);
    if (!bytes) return undefined;
    let entry: MemoEntry<O>;
    try {
      entry = jsonCodec<MemoEntry<O>>().decode(bytes);
      if (entry?.format !== 1 || !Array.isArray(entry.keys) || typeof entry.items !== 'object' || typeof entry.tallies !== 'object') throw new Error('not a memo entry');
    } catch (err) {
      const reason = `output ${record.output} does not decode as a ${name} memo (${(err as Error)?.message ?? String(err)})`;
      if (this.opts.dropAction) this.opts.dropAction(key, reason, { stage: name, item });
      else this.opts.reporter.emit({ type: 'warn', code: 'CACHE_ENTRY_DROPPED', item: key, message: `stage ${name} (${item}): ${reason}; recomputed` });
      return undefined;
    }
    // The chain's records must all be there: gc may have taken some (the chain then runs,
    // answering what is left from the cache). An old memo also refreshes their last use.
    // (A tier that leaves records elsewhere checks those there: Cache.touchActions.)
    const stale = Date.now() - record.usedAt > USE_REFRESH_MS;
    // Nothing removed from the cache since the chain ran (same removal mark): its records and
    // blobs are all still there, without checking each (at 100k repositories, 7.5M lookups).
    const untouched = entry.mark !== undefined && cache.removalMark?.() === entry.mark;
    const readAll = async (): Promise<boolean> => (await Promise.all(entry.keys.map((k) => cache.getAction(k, at)))).every(Boolean);
    const present = stale ? await (cache.touchActions ? cache.touchActions(entry.keys) : readAll()) : untouched || (cache.hasActions ? await cache.hasActions(entry.keys) : await readAll());
    if (!present) return undefined;
    if (untouched) return entry;
    // The blobs its value names (StageDef.valueRefs): there to read, as any hit's refs are
    // (a tier that fetches on read answers without the bytes), so later stages never miss one.
    if (cache.refsAvailable) {
      if (!(await cache.refsAvailable(record, at))) return undefined;
    } else for (const r of record.refs) if (!(await cache.hasBlob(r))) return undefined;
    return entry;
  }

  /** What a computing item sees of the cache: blobs it stores become its record's refs (with their sizes). */
  private context(stage: string, item: string): { ctx: StageContext; refs: Set<ContentHash>; sizes: Record<string, number> } {
    const cache = this.opts.cache;
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
        const bytes = await cache.getBlob(hash, { stage, item });
        if (!bytes) {
          throw new RetraceError('CACHE_BLOB_MISSING', `blob ${hash} is missing or damaged`, {
            item,
            hint: 'run `retrace cache verify --repair`, then build again',
          });
        }
        return bytes;
      },
    };
    return { ctx, refs, sizes };
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

  /**
   * Look up a stage item without computing it: a hit is answered (counted as cached, part of
   * the closure), a miss is undefined and counts nothing (the caller may then `run` it, e.g.
   * once it has opened what computing it needs).
   */
  async peek<I, O>(stage: StageDef<I, O>, input: I): Promise<StageResult<O> | undefined> {
    const parts = this.keyParts(stage, input);
    const key = actionKey(parts);
    const item = stage.item(input);
    const hit = await this.lookup(stage, key, item);
    if (!hit) return undefined;
    const stats = this.statsFor(stage.name);
    stats.items++;
    stats.cached++;
    this.use(stage.name, key, true);
    this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: true });
    return { value: hit.value, hash: hit.record.output, cached: true, key };
  }

  /**
   * A hit needs the record, every blob it refers to read back whole (re-hashed by the cache), or
   * known available where the cache fetches on read (Cache.refsAvailable), and its output
   * decoding as the stage's output. Anything less is a miss: the cache drops what it
   * found damaged, naming this stage and item (passed with each read).
   */
  private async lookup<O>(stage: Pick<StageDef<unknown, O>, 'name' | 'codec'>, key: ActionKey, item: string): Promise<{ record: ActionRecord; value: O } | undefined> {
    const at: ReadFor = { stage: stage.name, item };
    const cache = this.opts.cache;
    const record = await cache.getAction(key, at);
    if (!record) return undefined;
    if (cache.refsAvailable) {
      if (!(await cache.refsAvailable(record, at))) return undefined;
    } else for (const ref of record.refs) if (!(await cache.getBlob(ref, at))) return undefined;
    const bytes = await cache.getBlob(record.output, at);
    if (!bytes) return undefined;
    try {
      return { record, value: (stage.codec ?? jsonCodec<O>()).decode(bytes) };
    } catch (err) {
      const reason = `output ${record.output} does not decode as ${stage.name} output (${(err as Error)?.message ?? String(err)})`;
      if (this.opts.dropAction) this.opts.dropAction(key, reason, { stage: stage.name, item });
      else this.opts.reporter.emit({ type: 'warn', code: 'CACHE_ENTRY_DROPPED', item: key, message: `stage ${stage.name} (${item}): ${reason}; recomputed` });
      return undefined;
    }
  }

  private async runKeyed<I, O>(stage: StageDef<I, O>, input: I, item: string, key: ActionKey, parts: KeyParts): Promise<StageResult<O>> {
    const stats = this.statsFor(stage.name);
    stats.items++;
    const cache = this.opts.cache;
    const answer = async (hit: { record: ActionRecord; value: O }): Promise<StageResult<O>> => {
      stats.cached++;
      this.use(stage.name, key, true);
      await cache.recordItem({ stage: stage.name, item, key, parts, output: hit.record.output, builtAt: hit.record.createdAt });
      this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: true });
      return { value: hit.value, hash: hit.record.output, cached: true, key };
    };
    const hit = await this.lookup(stage, key, item);
    if (hit) return answer(hit);
    const claiming = typeof stage.claim === 'function' ? stage.claim(input) : stage.claim === true;
    const claims = claiming && this.opts.mode !== 'status' && !this.signal.aborted ? cache.claims : undefined;
    if (claims) {
      // Look again once the claim is held: another build may have held it ('waited'), or stored
      // its result and let go between the miss above and this claim.
      await claims.claim(key, this.signal);
      const after = await this.lookup(stage, key, item);
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
    if (this.signal.aborted) {
      const why = this.signal.reason instanceof RetraceError ? ` (${this.signal.reason.code}: ${this.signal.reason.message})` : '';
      throw new RetraceError('BUILD_STOPPED', `build stopped before this item${why}`, { item, hint: 'finished work is cached: build again once the cause is fixed' });
    }

    const { ctx, refs, sizes } = this.context(stage.name, item);
    this.opts.reporter.emit({ type: 'item-start', stage: stage.name, item });
    const t0 = performance.now();
    this.enter(stage.name, t0);
    let value: O;
    try {
      value = await stage.run(input, ctx);
    } catch (err) {
      this.leave(stage.name);
      throw this.fail(stage.name, item, asRetraceError(err, 'STAGE_FAILED', item));
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
    this.use(stage.name, key, true);
    stats.itemMs += ms;
    this.opts.reporter.emit({ type: 'item', stage: stage.name, item, cached: false, ms });
    return { value, hash: output, cached: false, key };
  }
}
