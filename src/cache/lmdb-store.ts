/**
 * The local cache tier: one LMDB environment with three databases.
 *   actions  action key -> ActionRecord (msgpack)
 *   blobs    content hash -> bytes (binary; LZ4-compressed above a threshold)
 *   items    "stage\0item" -> ItemState (what the last builds keyed each item by, for explain)
 * LMDB is ACID and multi-process safe (one writer at a time, readers never block), so kill -9 at
 * any moment leaves the last committed state and two builds may share a directory. It must
 * never sit on a network filesystem: sharing goes through remote tiers.
 */
import { mkdirSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { RetraceError } from '../errors.ts';
import { BuildLease, FRESH_MS, liveBuilds, type LeaseValue } from './lease.ts';
import { hashBytes, type ActionKey, type ContentHash } from '../hash.ts';
import type { ActionRecord, Cache, CacheStats, ItemState } from './cache.ts';

/**
 * Open options for several processes on one environment (bench/lmdb-concurrency.ts, README notes
 * on dependencies): lmdb-js's default `overlappingSync: true` (Linux) let concurrent processes
 * fail with MDB_BAD_TXN / MDB_PROBLEM and hang at close; with it off each commit is synced before
 * its promise resolves, so a stored result is durable before the build reports it.
 */
export const LMDB_OPEN_OPTIONS = { overlappingSync: false } as const;
/** `close()` gives up (with an error) after this long instead of hanging the exit. */
export const CLOSE_TIMEOUT_MS = 30_000;
/** LMDB errors a write retries (a transaction that another process's commit invalidated). */
const TRANSIENT = /MDB_BAD_TXN|MDB_PROBLEM|MDB_BAD_RSLOT|MDB_READERS_FULL/;
const WRITE_ATTEMPTS = 3;

export interface VerifyReport {
  actionsChecked: number;
  blobsChecked: number;
  corruptBlobs: ContentHash[];
  missingBlobs: Array<{ key: ActionKey; stage: string; item: string; blob: ContentHash }>;
  badRecords: ActionKey[];
}

export class LmdbCache implements Cache {
  readonly dir: string;
  private readonly root: RootDatabase;
  private readonly actions: Database<ActionRecord, string>;
  private readonly blobs: Database<Buffer, string>;
  private readonly items: Database<ItemState, string>;
  /** Content hash -> when a build last wrote or stamped the blob (ms); gc's guard for live builds. */
  private readonly blobAt: Database<number, string>;
  /** Build leases and claims (lease.ts). */
  readonly leases: Database<LeaseValue, string>;
  private closed = false;
  private lease?: BuildLease;
  /** Blobs found corrupt during this process's reads (reported by the build). */
  readonly corruptSeen: ContentHash[] = [];

  private readonly readOnly: boolean;

  private constructor(dir: string, root: RootDatabase, readOnly: boolean) {
    this.dir = dir;
    this.readOnly = readOnly;
    this.root = root;
    this.actions = root.openDB<ActionRecord, string>({ name: 'actions', encoding: 'msgpack' });
    this.blobs = root.openDB<Buffer, string>({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
    this.items = root.openDB<ItemState, string>({ name: 'items', encoding: 'msgpack' });
    this.blobAt = root.openDB<number, string>({ name: 'blobAt', encoding: 'msgpack' });
    this.leases = root.openDB<LeaseValue, string>({ name: 'leases', encoding: 'msgpack' });
  }

  /** Register this process as a running build until `close()` (lease.ts): gc keeps what it uses. */
  async startBuildLease(): Promise<BuildLease> {
    this.lease ??= new BuildLease(this.root, this.leases);
    await this.write('register a build lease', () => this.lease!.start());
    return this.lease;
  }

  /** The running build's lease: its claims on LLM calls (Cache.claims), when one was started. */
  get claims(): BuildLease | undefined {
    return this.lease;
  }

  private check(): void {
    if (this.closed) throw new RetraceError('CACHE_CLOSED', 'the cache was used after it was closed', { item: this.dir, hint: 'this is a bug in Retrace: a task outlived its build; please report it' });
  }

  /** A write, retried on transient LMDB transaction errors; anything else is a clear error. */
  private async write<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.check();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const msg = (err as Error).message ?? String(err);
        if (TRANSIENT.test(msg) && attempt < WRITE_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, 20 * attempt));
          continue;
        }
        if (err instanceof RetraceError) throw err;
        const full = /ENOSPC|MDB_MAP_FULL|No space left/i.test(msg);
        throw new RetraceError(full ? 'DISK_FULL' : 'CACHE_WRITE_FAILED', `cannot ${what} in the LMDB cache: ${msg}`, {
          item: this.dir,
          hint: full ? 'the disk holding the cache is full: free space, or run `retrace cache gc --max-bytes SIZE`' : 'run `retrace cache verify`; if it persists, move the cache aside and build again',
          cause: err,
        });
      }
    }
  }

  static open(cacheDir: string, opts: { readOnly?: boolean } = {}): LmdbCache {
    const dir = join(cacheDir, 'lmdb');
    try {
      mkdirSync(dir, { recursive: true });
      const root = open({
        path: dir,
        maxDbs: 8,
        // Large address space; the file grows only as data is written.
        mapSize: 2 ** 40,
        readOnly: opts.readOnly ?? false,
        ...(opts.readOnly ? {} : LMDB_OPEN_OPTIONS),
      });
      return new LmdbCache(dir, root, opts.readOnly ?? false);
    } catch (err) {
      throw new RetraceError('CACHE_OPEN_FAILED', `cannot open the LMDB cache: ${(err as Error).message}`, {
        item: dir,
        hint: 'check that the cache directory is writable and on a local filesystem (never NFS); --cache-dir picks another',
        cause: err,
      });
    }
  }

  async getAction(key: ActionKey): Promise<ActionRecord | undefined> {
    this.check();
    const rec = this.actions.get(key);
    if (!rec || rec.format !== 1) return undefined;
    const now = Date.now();
    if (now - rec.usedAt > FRESH_MS && !this.readOnly) {
      // Stamp (committed) before it is used, unless gc removed it meanwhile: then it is a miss.
      let present = false;
      await this.write('stamp a record as used', () =>
        this.actions.transaction(() => {
          const cur = this.actions.get(key);
          if (!cur) return;
          present = true;
          void this.actions.put(key, { ...cur, usedAt: now });
        }),
      );
      if (!present) return undefined;
    }
    return rec;
  }

  async putAction(key: ActionKey, record: ActionRecord): Promise<void> {
    await this.write('store a result record', () => this.actions.put(key, record));
  }

  async getBlob(hash: ContentHash): Promise<Uint8Array | undefined> {
    this.check();
    const bytes = this.blobs.getBinary(hash) as Uint8Array | undefined;
    if (!bytes) return undefined;
    if (hashBytes(bytes) !== hash) {
      this.corruptSeen.push(hash);
      await this.blobs.remove(hash);
      return undefined;
    }
    // lmdb's getBinary may reuse its buffer on the next read: hand out a copy.
    return Uint8Array.prototype.slice.call(bytes);
  }

  async hasBlob(hash: ContentHash): Promise<boolean> {
    this.check();
    return this.blobs.doesExist(hash);
  }

  /**
   * Store bytes, and stamp the blob as written now unless it was stamped within FRESH_MS: gc
   * keeps blobs stamped after the oldest live build's start - FRESH_MS, so a blob a build writes
   * (or finds already there) survives until the record naming it is committed. Bytes and stamp go
   * in one transaction, so a blob gc removed a moment ago is written again.
   */
  async putBlob(bytes: Uint8Array): Promise<ContentHash> {
    this.check();
    const hash = hashBytes(bytes);
    const now = Date.now();
    const at = this.blobAt.get(hash);
    if (at !== undefined && now - at < FRESH_MS && this.blobs.doesExist(hash)) return hash;
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await this.write('store a blob', () =>
      this.root.transaction(() => {
        if (!this.blobs.doesExist(hash)) void this.blobs.put(hash, buf);
        void this.blobAt.put(hash, now);
      }),
    );
    return hash;
  }

  async getItem(stage: string, item: string): Promise<ItemState | undefined> {
    this.check();
    return this.items.get(stage + '\0' + item);
  }

  async recordItem(state: Omit<ItemState, 'previous'>): Promise<void> {
    const id = state.stage + '\0' + state.item;
    this.check();
    if (this.items.get(id)?.key === state.key) return;
    // Read and write in one transaction so concurrent builds never lose a `previous`.
    await this.write('record an item', () =>
      this.items.transaction(() => {
        const old = this.items.get(id);
        if (old && old.key === state.key) return;
        const previous = old ? { key: old.key, parts: old.parts, output: old.output, builtAt: old.builtAt } : undefined;
        void this.items.put(id, { ...state, previous });
      }),
    );
  }

  /** All item states of a stage, or of every stage (for status). */
  *itemStates(stage?: string): Iterable<ItemState> {
    const range = stage ? { start: stage + '\0', end: stage + '\u0001' } : {};
    for (const { value } of this.items.getRange(range)) yield value;
  }

  *actionEntries(): Iterable<{ key: ActionKey; value: ActionRecord }> {
    for (const { key, value } of this.actions.getRange({})) yield { key: key as ActionKey, value };
  }

  *blobHashes(): Iterable<ContentHash> {
    for (const key of this.blobs.getKeys({})) yield key as ContentHash;
  }

  async stats(): Promise<CacheStats> {
    const byStage: Record<string, number> = {};
    let actions = 0;
    for (const { value } of this.actions.getRange({})) {
      actions++;
      byStage[value.stage] = (byStage[value.stage] ?? 0) + 1;
    }
    let blobs = 0;
    let blobBytes = 0;
    for (const { value } of this.blobs.getRange({})) {
      blobs++;
      blobBytes += value.length;
    }
    let items = 0;
    for (const _ of this.items.getKeys({})) items++;
    let fileBytes = 0;
    for (const f of readdirSync(this.dir)) fileBytes += statSync(join(this.dir, f)).size;
    return { actions, blobs, blobBytes, items, fileBytes, byStage };
  }

  /** Re-hash every blob and check that every action's output and refs exist. */
  async verify(onProgress?: (done: number) => void): Promise<VerifyReport> {
    const report: VerifyReport = { actionsChecked: 0, blobsChecked: 0, corruptBlobs: [], missingBlobs: [], badRecords: [] };
    for (const { key, value } of this.blobs.getRange({})) {
      report.blobsChecked++;
      if (hashBytes(value) !== key) report.corruptBlobs.push(key as ContentHash);
      if (onProgress && report.blobsChecked % 1000 === 0) onProgress(report.blobsChecked);
    }
    for (const { key, value } of this.actions.getRange({})) {
      report.actionsChecked++;
      if (!value || value.format !== 1 || typeof value.output !== 'string' || !Array.isArray(value.refs)) {
        report.badRecords.push(key as ActionKey);
        continue;
      }
      for (const blob of [value.output, ...value.refs]) {
        if (!this.blobs.doesExist(blob)) report.missingBlobs.push({ key: key as ActionKey, stage: value.stage, item: value.item, blob });
      }
    }
    return report;
  }

  /** Remove what `verify` found broken, so the next build recomputes it. */
  async repair(report: VerifyReport): Promise<void> {
    for (const h of report.corruptBlobs) await this.blobs.remove(h);
    for (const k of report.badRecords) await this.actions.remove(k);
    for (const m of report.missingBlobs) await this.actions.remove(m.key);
  }

  /**
   * Garbage collection: evict action records not used within `maxAgeMs`, then the least recently
   * used until the blobs they keep fit in `maxBytes`; blobs no remaining record refers to go too.
   * `keep` names action keys that must survive (e.g. reachable from pinned dataset versions).
   *
   * Safe while builds run (issue 19): the whole decision is made inside one write transaction
   * (no commit can slip between reading and deleting), records used and blobs written since
   * FRESH_MS before the oldest live build lease started are kept, and a blob goes only when no
   * record left after the eviction names it (the record-blob closure is checked in that same
   * transaction).
   */
  async gc(opts: { maxAgeMs?: number; maxBytes?: number; keep?: Set<string> }): Promise<{ actionsRemoved: number; blobsRemoved: number; bytesFreed: number; liveBuilds: number; keptForBuilds: number }> {
    let result = { actionsRemoved: 0, blobsRemoved: 0, bytesFreed: 0, liveBuilds: 0, keptForBuilds: 0 };
    await this.write('collect garbage', () =>
      this.root.transaction(() => {
        result = this.gcInTxn(opts);
      }),
    );
    return result;
  }

  private gcInTxn(opts: { maxAgeMs?: number; maxBytes?: number; keep?: Set<string> }): { actionsRemoved: number; blobsRemoved: number; bytesFreed: number; liveBuilds: number; keptForBuilds: number } {
    const now = Date.now();
    const builds = liveBuilds(this.leases, now);
    const guardFrom = builds.length > 0 ? builds[0].startedAt - FRESH_MS : Infinity;
    const records: Array<{ key: string; rec: ActionRecord }> = [];
    for (const { key, value } of this.actions.getRange({})) records.push({ key, rec: value });
    const guarded = (rec: ActionRecord) => rec.usedAt >= guardFrom || rec.createdAt >= guardFrom;
    let keptForBuilds = 0;
    const evict = new Set<string>();
    for (const { key, rec } of records) {
      if (opts.keep?.has(key)) continue;
      if (opts.maxAgeMs !== undefined && now - rec.usedAt > opts.maxAgeMs) {
        if (guarded(rec)) keptForBuilds++;
        else evict.add(key);
      }
    }
    const blobSize = new Map<string, number>();
    for (const { key, value } of this.blobs.getRange({})) blobSize.set(key, value.length);
    const refsOf = (rec: ActionRecord): string[] => [rec.output, ...(Array.isArray(rec.refs) ? rec.refs : [])];
    const liveBytes = (): number => {
      const live = new Set<string>();
      for (const { key, rec } of records) if (!evict.has(key)) for (const b of refsOf(rec)) live.add(b);
      let n = 0;
      for (const b of live) n += blobSize.get(b) ?? 0;
      return n;
    };
    if (opts.maxBytes !== undefined) {
      const lru = records.filter(({ key, rec }) => !evict.has(key) && !opts.keep?.has(key) && !guarded(rec)).sort((a, b) => a.rec.usedAt - b.rec.usedAt);
      let total = liveBytes();
      // Evict in LRU batches; recompute live bytes per batch (blobs are shared between records).
      const batch = Math.max(1, Math.ceil(lru.length / 50));
      for (let i = 0; i < lru.length && total > opts.maxBytes; i += batch) {
        for (const { key } of lru.slice(i, i + batch)) evict.add(key);
        total = liveBytes();
      }
    }
    // The closure: every blob a remaining record names stays.
    const live = new Set<string>();
    for (const { key, rec } of records) if (!evict.has(key)) for (const b of refsOf(rec)) live.add(b);
    let blobsRemoved = 0;
    let bytesFreed = 0;
    for (const key of evict) void this.actions.remove(key);
    for (const [hash, size] of blobSize) {
      if (live.has(hash)) continue;
      const at = this.blobAt.get(hash);
      if (at !== undefined && at >= guardFrom) {
        keptForBuilds++;
        continue;
      }
      void this.blobs.remove(hash);
      void this.blobAt.remove(hash);
      blobsRemoved++;
      bytesFreed += size;
    }
    return { actionsRemoved: evict.size, blobsRemoved, bytesFreed, liveBuilds: builds.length, keptForBuilds };
  }

  /**
   * Close: end the build lease, then the environment. Never waits forever: after CLOSE_TIMEOUT_MS
   * it fails with CACHE_CLOSE_TIMEOUT (committed data is safe either way).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RetraceError('CACHE_CLOSE_TIMEOUT', `closing the LMDB cache took over ${CLOSE_TIMEOUT_MS / 1000} s`, { item: this.dir, hint: 'committed results are safe; another process may hold the write lock: check for stuck retrace processes' })), CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    try {
      await Promise.race([
        (async () => {
          if (this.lease) await this.lease.stop().catch(() => undefined);
          this.closed = true;
          await this.root.close();
        })(),
        timeout,
      ]);
    } finally {
      this.closed = true;
      clearTimeout(timer);
    }
  }
}
