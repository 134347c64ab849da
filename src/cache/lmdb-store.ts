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
import { hashBytes, type ActionKey, type ContentHash, type RecordKey } from '../hash.ts';
import type { ActionRecord, Cache, CacheStats, ItemState } from './cache.ts';

/** Refresh `usedAt` at most this often, so cache hits rarely cost a write. */
const USED_AT_GRANULARITY_MS = 60 * 60 * 1000;

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
  /** Blobs found corrupt during this process's reads (reported by the build). */
  readonly corruptSeen: ContentHash[] = [];

  private constructor(dir: string, root: RootDatabase) {
    this.dir = dir;
    this.root = root;
    this.actions = root.openDB<ActionRecord, string>({ name: 'actions', encoding: 'msgpack' });
    this.blobs = root.openDB<Buffer, string>({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
    this.items = root.openDB<ItemState, string>({ name: 'items', encoding: 'msgpack' });
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
      });
      return new LmdbCache(dir, root);
    } catch (err) {
      throw new RetraceError('CACHE_OPEN_FAILED', `cannot open the LMDB cache: ${(err as Error).message}`, {
        item: dir,
        hint: 'check that the cache directory is writable and on a local filesystem (never NFS); --cache-dir picks another',
        cause: err,
      });
    }
  }

  async getAction(key: ActionKey | RecordKey): Promise<ActionRecord | undefined> {
    const rec = this.actions.get(key);
    if (!rec || rec.format !== 1) return undefined;
    const now = Date.now();
    if (now - rec.usedAt > USED_AT_GRANULARITY_MS) {
      void this.actions.put(key, { ...rec, usedAt: now });
    }
    return rec;
  }

  async putAction(key: ActionKey | RecordKey, record: ActionRecord): Promise<void> {
    await this.actions.put(key, record);
  }

  async getBlob(hash: ContentHash): Promise<Uint8Array | undefined> {
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
    return this.blobs.doesExist(hash);
  }

  async putBlob(bytes: Uint8Array): Promise<ContentHash> {
    const hash = hashBytes(bytes);
    if (!this.blobs.doesExist(hash)) await this.blobs.put(hash, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return hash;
  }

  async getItem(stage: string, item: string): Promise<ItemState | undefined> {
    return this.items.get(stage + '\0' + item);
  }

  async recordItem(state: Omit<ItemState, 'previous'>): Promise<void> {
    const id = state.stage + '\0' + state.item;
    if (this.items.get(id)?.key === state.key) return;
    // Read and write in one transaction so concurrent builds never lose a `previous`.
    await this.items.transaction(() => {
      const old = this.items.get(id);
      if (old && old.key === state.key) return;
      const previous = old ? { key: old.key, parts: old.parts, output: old.output, builtAt: old.builtAt } : undefined;
      void this.items.put(id, { ...state, previous });
    });
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
   */
  async gc(opts: { maxAgeMs?: number; maxBytes?: number; keep?: Set<string>; dryRun?: boolean }): Promise<{ actionsRemoved: number; blobsRemoved: number; bytesFreed: number }> {
    const now = Date.now();
    const records: Array<{ key: string; rec: ActionRecord }> = [];
    for (const { key, value } of this.actions.getRange({})) records.push({ key, rec: value });
    const evict = new Set<string>();
    for (const { key, rec } of records) {
      if (opts.keep?.has(key)) continue;
      if (opts.maxAgeMs !== undefined && now - rec.usedAt > opts.maxAgeMs) evict.add(key);
    }
    const blobSize = new Map<string, number>();
    for (const { key, value } of this.blobs.getRange({})) blobSize.set(key, value.length);
    const liveBytes = (): number => {
      const live = new Set<string>();
      for (const { key, rec } of records) if (!evict.has(key)) for (const b of [rec.output, ...rec.refs]) live.add(b);
      let n = 0;
      for (const b of live) n += blobSize.get(b) ?? 0;
      return n;
    };
    if (opts.maxBytes !== undefined) {
      const lru = records.filter(({ key }) => !evict.has(key) && !opts.keep?.has(key)).sort((a, b) => a.rec.usedAt - b.rec.usedAt);
      let total = liveBytes();
      // Evict in LRU batches; recompute live bytes per batch (blobs are shared between records).
      const batch = Math.max(1, Math.ceil(lru.length / 50));
      for (let i = 0; i < lru.length && total > opts.maxBytes; i += batch) {
        for (const { key } of lru.slice(i, i + batch)) evict.add(key);
        total = liveBytes();
      }
    }
    const live = new Set<string>();
    for (const { key, rec } of records) if (!evict.has(key)) for (const b of [rec.output, ...rec.refs]) live.add(b);
    let blobsRemoved = 0;
    let bytesFreed = 0;
    if (opts.dryRun) {
      // Issue 16: what would go, nothing removed.
      for (const [hash, size] of blobSize) if (!live.has(hash)) (blobsRemoved++, (bytesFreed += size));
      return { actionsRemoved: evict.size, blobsRemoved, bytesFreed };
    }
    await this.root.transaction(() => {
      for (const key of evict) void this.actions.remove(key);
      for (const [hash, size] of blobSize) {
        if (!live.has(hash)) {
          void this.blobs.remove(hash);
          blobsRemoved++;
          bytesFreed += size;
        }
      }
    });
    return { actionsRemoved: evict.size, blobsRemoved, bytesFreed };
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
