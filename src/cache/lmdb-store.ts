/**
 * The local cache tier: one LMDB environment with three databases.
 *   actions  action key -> ActionRecord (msgpack)
 *   blobs    content hash -> bytes (binary; LZ4-compressed above a threshold)
 *   items    "stage\0item" -> ItemState (what the last builds keyed each item by, for explain)
 * LMDB is ACID and multi-process safe (one writer at a time, readers never block), so kill -9 at
 * any moment leaves the last committed state and two builds may share a directory. It must
 * never sit on a network filesystem: sharing goes through remote tiers.
 *
 * The cache is untrusted input (issue 18). Every read is checked: records and item states
 * against their version-tagged schema (lmdb-check.ts), blobs by re-hashing. An entry that fails
 * is a miss: it is reported (`onDrop`, the build's CACHE_ENTRY_DROPPED warning) and removed in the
 * next write transaction, so the build recomputes it. An error from LMDB itself (a damaged page)
 * marks the environment damaged: from then on the run keeps what it writes in memory, reads what
 * it still can, and the build repairs the environment when it closes (salvage.ts). Every wait on
 * a write has a timeout. Damage LMDB cannot even open (meta pages, truncation) is refused at
 * open with CACHE_DAMAGED and the repair command.
 */
import { mkdirSync, statSync, statfsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, type Database, type RootDatabase } from 'lmdb';
import { isDiskFull, RetraceError } from '../errors.ts';
import { hashBytes, isContentHash, type ActionKey, type ContentHash, type RecordKey } from '../hash.ts';
import { type ActionRecord, type Cache, type CacheStats, type DropEvent, type ItemState, type ReadFor, type StoreName } from './cache.ts';
import { actionRecordProblem, inspectEnvironment, isEnvironmentError, itemStateProblem } from './lmdb-check.ts';
import { BuildLease, FRESH_MS, liveBuilds, type LeaseValue } from './lease.ts';

/**
 * Open options for several processes on one environment (bench/lmdb-concurrency.ts, README notes
 * on dependencies): lmdb-js's default `overlappingSync: true` (Linux) let concurrent processes
 * fail with MDB_BAD_TXN / MDB_PROBLEM and hang at close; with it off each commit is synced before
 * its promise resolves, so a stored result is durable before the build reports it.
 */
export const LMDB_OPEN_OPTIONS = { overlappingSync: false } as const;
/** LMDB errors a write retries (a transaction that another process's commit invalidated). */
const TRANSIENT = /MDB_BAD_TXN|MDB_PROBLEM|MDB_BAD_RSLOT|MDB_READERS_FULL/;
/** Attempts of a write (and of a read) that meets a transient transaction error. */
const WRITE_ATTEMPTS = 3;

/** What to tell a user whose cache environment is damaged. */
export const DAMAGED_HINT =
  'run `retrace cache verify --repair` (copies every readable entry into a fresh cache and moves the damaged one aside), or build with --repair-cache';

/** How long one write may wait for its transaction to commit (env RETRACE_CACHE_TIMEOUT_MS). */
export function cacheTimeoutMs(): number {
  // Read once per process: every write asks, and process.env is a slow lookup (0.3 s of a
  // 200-package trajectory build's main thread when read per write).
  if (timeoutMs === undefined) {
    const v = Number(process.env.RETRACE_CACHE_TIMEOUT_MS);
    timeoutMs = Number.isFinite(v) && v > 0 ? v : 120_000;
  }
  return timeoutMs;
}
let timeoutMs: number | undefined;

/** The LMDB open options of the local tier, in one place. */
export function envOptions(dir: string, readOnly: boolean): Parameters<typeof open>[0] {
  return {
    path: dir,
    maxDbs: 8,
    // Large address space; the file grows only as data is written.
    mapSize: 2 ** 40,
    readOnly,
    ...(readOnly ? {} : LMDB_OPEN_OPTIONS),
  };
}

export function damagedError(dir: string, message: string, cause?: unknown): RetraceError {
  return new RetraceError('CACHE_DAMAGED', message, { item: dir, hint: DAMAGED_HINT, cause });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * LMDB writes through a memory map: on a full disk a commit fails with EIO, not ENOSPC. Less
 * than 1 MB free on the cache's filesystem when a write fails means the disk is full.
 */
function diskFull(err: unknown, dir: string): boolean {
  if (isDiskFull(err)) return true;
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize < 1024 * 1024;
  } catch {
    return false;
  }
}

function timeoutError(what: string, ms: number, dir: string): RetraceError {
  return new RetraceError('CACHE_TIMEOUT', `${what} did not commit within ${ms} ms`, {
    item: dir,
    hint: 'another process may hold the cache\'s write lock (`retrace cache verify` shows whether the cache is sound); RETRACE_CACHE_TIMEOUT_MS sets the limit',
  });
}

interface WaitingWrite {
  since: number;
  what: string;
  fail: (err: RetraceError) => void;
}

/**
 * The writes of one environment waiting to commit, under one timer (a timer, a timeout promise
 * and a race per write cost ~4.5 us and several allocations each, on the main thread, for tens
 * of thousands of writes per build). The timer runs only while writes wait; a write older than
 * the limit fails with CACHE_TIMEOUT. It fails a turn later (setImmediate): a busy main thread
 * runs the timer in the same loop turn as a commit's completion, timers first, and the completion
 * is delivered before setImmediate's turn, so only a commit that really did not happen times out.
 * The close of the environment waits here too.
 */
class WriteWatch {
  /** In the order the writes started: the oldest first. */
  private readonly waiting = new Set<WaitingWrite>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly dir: string,
  ) {}

  wait<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: WaitingWrite = { since: Date.now(), what, fail: reject };
      this.waiting.add(w);
      this.timer ??= setInterval(() => this.check(), Math.min(1000, Math.max(10, this.ms / 4)));
      p.then(
        (v) => {
          this.done(w);
          resolve(v);
        },
        (err: unknown) => {
          this.done(w);
          reject(err);
        },
      );
    });
  }

  /** A write settled (or timed out): the timer stops with the last one, so it never keeps a finished process alive. */
  private done(w: WaitingWrite): void {
    this.waiting.delete(w);
    if (this.waiting.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.waiting) {
      if (now - w.since < this.ms) break;
      this.done(w);
      setImmediate(() => w.fail(timeoutError(w.what, this.ms, this.dir)));
    }
  }
}

/** Open environments in this process, for the handler below. */
const openCaches = new Set<LmdbCache>();
let handlerInstalled = false;

/**
 * lmdb-js rejects the promise of every write in a failed commit, including writes it issues on
 * its own, and the LMDB error as a separate promise: rejections nothing here can attach to. They
 * mean the environment is damaged, which the open caches are told (the build then repairs it);
 * any other unhandled rejection stays fatal as before.
 */
function installCommitFailureHandler(): void {
  if (handlerInstalled) return;
  handlerInstalled = true;
  process.on('unhandledRejection', (reason) => {
    const msg = messageOf(reason);
    if (msg.startsWith('Commit failed (see commitError') || (isEnvironmentError(reason) && openCaches.size > 0)) {
      (reason as { commitError?: Promise<unknown> })?.commitError?.catch?.(() => undefined);
      // A full disk is reported by the write that hit it (DISK_FULL), not as damage.
      for (const c of openCaches) if (!diskFull(reason, c.dir)) c.noteDamage(`a write failed: ${msg}`);
      return;
    }
    throw reason;
  });
}

export interface VerifyReport {
  actionsChecked: number;
  blobsChecked: number;
  itemsChecked: number;
  corruptBlobs: ContentHash[];
  missingBlobs: Array<{ key: ActionKey; stage: string; item: string; blob: ContentHash }>;
  badRecords: Array<{ key: ActionKey; problem: string }>;
  badItems: Array<{ key: string; problem: string }>;
  /** An error from LMDB itself while walking the environment: only a salvage repairs it. */
  environment?: string;
}

const REMOVAL_MARK = 'removals';

function newRemovalMark(): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
}

/** Whether `key` is in `db`, read from its keys only (the first key at or after it). */
function hasKey(db: Database<unknown, string>, key: string): boolean {
  for (const k of db.getKeys({ start: key, limit: 1 })) return k === key;
  return false;
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
  /** Small values of the environment itself: the removal mark (removalMark). */
  private readonly meta: Database<string, string>;
  private lease?: BuildLease;
  private isClosed = false;
  private readonly readOnly: boolean;
  /** Blobs found corrupt during this process's reads (reported by the build). */
  readonly corruptSeen: ContentHash[] = [];
  /** Entries this process found damaged and dropped. */
  readonly dropped: DropEvent[] = [];
  /** Called for each dropped entry: the build reports it as a CACHE_ENTRY_DROPPED warning. */
  onDrop?: (d: DropEvent) => void;
  /** Why this run stopped trusting the environment (an error from LMDB), if it did. */
  damaged?: string;
  /** Called once when the environment is found damaged during the run. */
  onDamaged?: (reason: string) => void;
  /** A write that timed out: later writes fail at once with it instead of waiting again. */
  private stuck?: RetraceError;
  /** Keys dropped in this run: their removal may still be pending, so a put must not be skipped. */
  private readonly redo = new Set<string>();
  /** What this run wrote after the environment was found damaged (kept for the rest of the run). */
  private readonly overlay = { actions: new Map<string, ActionRecord>(), blobs: new Map<string, Uint8Array>(), items: new Map<string, ItemState>() };

  private constructor(dir: string, root: RootDatabase, readOnly: boolean) {
    this.dir = dir;
    this.root = root;
    this.readOnly = readOnly;
    this.actions = root.openDB<ActionRecord, string>({ name: 'actions', encoding: 'msgpack' });
    this.blobs = root.openDB<Buffer, string>({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
    this.items = root.openDB<ItemState, string>({ name: 'items', encoding: 'msgpack' });
    this.blobAt = root.openDB<number, string>({ name: 'blobAt', encoding: 'msgpack' });
    this.leases = root.openDB<LeaseValue, string>({ name: 'leases', encoding: 'msgpack' });
    this.meta = root.openDB<string, string>({ name: 'meta', encoding: 'msgpack' });
  }

  /** Cache.removalMark: changed in the transaction of every removal (gc, a dropped entry, repair). */
  removalMark(): string | undefined {
    if (this.damaged) return undefined;
    try {
      const mark = this.meta.get(REMOVAL_MARK);
      return typeof mark === 'string' ? mark : undefined;
    } catch {
      return undefined; // unreadable: no promise made, the caller checks each key
    }
  }

  /** A new removal mark; call inside the write transaction that removes. */
  private markRemoval(): void {
    void this.meta.put(REMOVAL_MARK, newRemovalMark());
  }

  /**
   * The id of the environment's last committed write transaction (LMDB counts every commit, any
   * process's): the difference across a run is how many commits (each one synced) it cost.
   * Writes pending together go into one transaction (lmdb-js batches them), so callers that keep
   * several writes in flight pay one commit per batch, not one per write.
   */
  lastCommit(): number {
    return (this.root.getStats() as { lastTxnId: number }).lastTxnId;
  }

  /** Register this process as a running build until `close()` (lease.ts): gc keeps what it uses. */
  async startBuildLease(): Promise<BuildLease> {
    this.lease ??= new BuildLease(this.root, this.leases);
    await this.write('register a build lease', () => this.lease!.start(), () => undefined);
    // An environment without a removal mark (new, salvaged, or older than marks) gets one.
    if (this.removalMark() === undefined && !this.damaged) {
      await this.write('start a removal mark', () => this.meta.transaction(() => {
        if (this.meta.get(REMOVAL_MARK) === undefined) this.markRemoval();
      }), () => undefined);
    }
    return this.lease;
  }

  /** The running build's lease: its claims on LLM calls (Cache.claims), when one was started. */
  get claims(): BuildLease | undefined {
    return this.lease;
  }

  private check(): void {
    if (this.isClosed) throw new RetraceError('CACHE_CLOSED', 'the cache was used after it was closed', { item: this.dir, hint: 'this is a bug in Retrace: a task outlived its build; please report it' });
  }

  /** `op`, retried on transient LMDB transaction errors (another process's commit invalidated it). */
  private async retried<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (TRANSIENT.test(messageOf(err)) && attempt < WRITE_ATTEMPTS) {
          (err as { commitError?: Promise<unknown> })?.commitError?.catch?.(() => undefined);
          await new Promise((r) => setTimeout(r, 20 * attempt));
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Open (or create) the environment under `cacheDir/lmdb`. A file LMDB would trip over (damaged
   * meta pages, truncation, not LMDB at all, pages it reports damaged while opening) is refused
   * with CACHE_DAMAGED and the repair command; reader slots left by dead processes are cleared.
   */
  static open(cacheDir: string, opts: { readOnly?: boolean } = {}): LmdbCache {
    return LmdbCache.openAt(join(cacheDir, 'lmdb'), opts);
  }

  /** Open the environment in exactly `dir` (repair works on copies beside the cache's own). */
  static openAt(dir: string, opts: { readOnly?: boolean } = {}): LmdbCache {
    const readOnly = opts.readOnly ?? false;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw openFailed(dir, err);
    }
    const problem = inspectEnvironment(dir);
    if (problem) throw damagedError(dir, `the cache cannot be opened: ${problem.message}`);
    let root: RootDatabase;
    try {
      root = open(envOptions(dir, readOnly));
    } catch (err) {
      if (isEnvironmentError(err)) throw damagedError(dir, `LMDB refuses to open the cache: ${messageOf(err)}`, err);
      throw openFailed(dir, err);
    }
    try {
      if (!readOnly) root.readerCheck();
      const cache = new LmdbCache(dir, root, readOnly);
      installCommitFailureHandler();
      openCaches.add(cache);
      return cache;
    } catch (err) {
      try {
        void root.close();
      } catch {
        // already failing: the damage is what the user needs to hear about
      }
      if (isEnvironmentError(err)) throw damagedError(dir, `the cache's databases cannot be read: ${messageOf(err)}`, err);
      throw openFailed(dir, err);
    }
  }

  /** Damage reported from outside a read or write of this class (see installCommitFailureHandler). */
  noteDamage(reason: string): void {
    this.markDamaged(reason);
  }

  private markDamaged(reason: string): void {
    if (this.damaged) return;
    this.damaged = reason;
    for (const wake of this.damageWaiters) wake();
    this.damageWaiters.clear();
    this.onDamaged?.(reason);
  }

  /**
   * Writes waiting now, woken when the environment is found damaged (they give up on LMDB then).
   * One promise per write, let go when it settles: racing every write against one long-lived
   * promise left a reaction on it per write, never freed (~60 MB of heap at 437 packages).
   */
  private readonly damageWaiters = new Set<() => void>();
  private writeWatch?: WriteWatch;

  /** What waits on this environment (writes, the close) and fails it with CACHE_TIMEOUT. */
  private watch(): WriteWatch {
    return (this.writeWatch ??= new WriteWatch(cacheTimeoutMs(), this.dir));
  }

  private db(store: StoreName): Database<unknown, string> {
    return (store === 'actions' ? this.actions : store === 'blobs' ? this.blobs : this.items) as Database<unknown, string>;
  }

  /**
   * A read that can fail: a transient transaction error (another process's commit, a reader slot)
   * is retried on a fresh read transaction; an undecodable entry is dropped; any other LMDB error
   * marks the environment.
   */
  private read<T>(store: StoreName, key: string, get: () => T, at?: ReadFor): T | undefined {
    for (let attempt = 1; ; attempt++) {
      try {
        return get();
      } catch (err) {
        if (TRANSIENT.test(messageOf(err)) && attempt < WRITE_ATTEMPTS) {
          try {
            this.root.resetReadTxn();
          } catch {
            // the next attempt reports what is still wrong
          }
          continue;
        }
        return this.readFailed(store, key, err, at);
      }
    }
  }

  private readFailed(store: StoreName, key: string, err: unknown, at?: ReadFor): undefined {
    if (isEnvironmentError(err)) {
      this.markDamaged(`reading ${store} ${key}: ${messageOf(err)}`);
      return undefined;
    }
    const [stage, item] = store === 'items' ? key.split('\0') : [at?.stage, at?.item];
    this.dropEntry(store, key, `does not decode (${messageOf(err)})`, { stage, item });
    return undefined;
  }

  /**
   * Forget a damaged entry: reported, and removed in the next write transaction (unless the
   * environment itself is damaged: then the repair at the end of the run leaves it behind).
   */
  dropEntry(store: StoreName, key: string, reason: string, known: { stage?: string; item?: string; output?: string } = {}): void {
    const event: DropEvent = { store, key, stage: known.stage ?? 'unknown', item: known.item, reason };
    this.dropped.push(event);
    if (store === 'blobs') this.corruptSeen.push(key as ContentHash);
    this.redo.add(key);
    this.onDrop?.(event);
    if (this.damaged || this.readOnly) return;
    // Removed only if the entry is still damaged when the removal's write transaction runs:
    // another build may have written it whole again since this one read it (or read it from an
    // older snapshot), and depends on it.
    const db = this.db(store);
    const output = store === 'actions' ? (known.output ?? this.outputNow(key)) : undefined;
    this.root
      .transaction(() => {
        if (stillDamaged(store, key, db, output)) {
          void db.remove(key);
          this.markRemoval();
        }
      })
      .catch((err: unknown) => {
        (err as { commitError?: Promise<unknown> })?.commitError?.catch?.(() => undefined);
        this.markDamaged(`removing ${store} ${key}: ${messageOf(err)}`);
      });
  }

  /** The output a record names now (the one a drop judged), if it decodes as a record. */
  private outputNow(key: string): string | undefined {
    try {
      const rec = this.actions.get(key);
      return actionRecordProblem(rec) === undefined ? rec!.output : undefined;
    } catch {
      return undefined;
    }
  }

  /** A write with a timeout; if LMDB fails it, the run goes on with the value kept in memory. */
  private async write(what: string, op: () => Promise<unknown>, keep: () => void): Promise<void> {
    this.check();
    if (this.stuck) throw this.stuck;
    if (this.damaged || this.readOnly) {
      keep();
      return;
    }
    try {
      // lmdb-js may never settle the writes of a transaction that failed: once the environment
      // is known damaged, a waiting write keeps its value in memory instead.
      let wake!: () => void;
      const damageFound = new Promise<'damaged'>((res) => (wake = () => res('damaged')));
      this.damageWaiters.add(wake);
      let done: unknown;
      try {
        done = await this.watch().wait(Promise.race([this.retried(op), damageFound]), what);
      } finally {
        this.damageWaiters.delete(wake);
      }
      if (done === 'damaged') keep();
    } catch (err) {
      // lmdb-js attaches the LMDB error of a failed commit as a promise of its own.
      (err as { commitError?: Promise<unknown> })?.commitError?.catch?.(() => undefined);
      if (err instanceof RetraceError && err.code === 'CACHE_TIMEOUT') {
        this.stuck = err;
        throw err;
      }
      if (diskFull(err, this.dir)) {
        // Later writes fail at once with it: lmdb-js's path for a failed commit has corrupted the
        // heap after repeated "No space left" writes (a native abort instead of DISK_FULL).
        this.stuck = new RetraceError('DISK_FULL', `no space left for the cache: ${messageOf(err)}`, {
          item: this.dir,
          hint: 'free space on that disk, or pass --cache-dir on a disk with room (`retrace cache gc --max-size` shrinks the cache)',
          cause: err,
        });
        throw this.stuck;
      }
      this.markDamaged(`writing ${what}: ${messageOf(err)}`);
      keep();
    }
  }

  async getAction(key: ActionKey | RecordKey, at?: ReadFor): Promise<ActionRecord | undefined> {
    const kept = this.overlay.actions.get(key);
    if (kept) return kept;
    const rec = this.read('actions', key, () => this.actions.get(key), at);
    if (rec === undefined) return undefined;
    const format = (rec as { format?: unknown } | null)?.format;
    if (typeof format === 'number' && format > 1) return undefined; // a newer Retrace's record: not ours to judge
    const problem = actionRecordProblem(rec);
    if (problem) {
      const r = rec as Partial<ActionRecord> | null;
      this.dropEntry('actions', key, `record ${problem}`, { stage: typeof r?.stage === 'string' ? r.stage : at?.stage, item: typeof r?.item === 'string' ? r.item : at?.item });
      return undefined;
    }
    const now = Date.now();
    if (now - rec.usedAt > FRESH_MS && !this.damaged && !this.readOnly) {
      // Stamped (committed) before it is used, unless gc removed it meanwhile: then it is a miss.
      // gc keeps what a live build stamped after its start - FRESH_MS (lease.ts).
      let present = true;
      await this.write(
        `stamp ${key} as used`,
        () =>
          this.actions.transaction(() => {
            const cur = this.actions.get(key);
            if (!cur) {
              present = false;
              return;
            }
            void this.actions.put(key, { ...cur, usedAt: now });
          }),
        () => undefined,
      );
      if (!present) return undefined;
    }
    return rec;
  }

  async putAction(key: ActionKey | RecordKey, record: ActionRecord): Promise<void> {
    this.redo.delete(key);
    await this.write(`result ${key}`, () => this.actions.put(key, record), () => this.overlay.actions.set(key, record));
  }

  /** Remove one action record (it did not decode as its stage's output). */
  async dropAction(key: ActionKey, reason: string, known: { stage?: string; item?: string; output?: string } = {}): Promise<void> {
    this.overlay.actions.delete(key);
    this.dropEntry('actions', key, reason, known);
  }

  async getBlob(hash: ContentHash, at?: ReadFor): Promise<Uint8Array | undefined> {
    this.check();
    const kept = this.overlay.blobs.get(hash);
    if (kept) return copyOf(kept);
    const read = () => {
      const bytes = this.read('blobs', hash, () => this.blobs.getBinary(hash) as Uint8Array | undefined, at);
      // lmdb's getBinary may reuse its buffer on the next read: hand out a copy.
      return bytes && { bytes: copyOf(bytes), whole: hashBytes(bytes) === hash };
    };
    let found = read();
    // Neither a miss nor a mismatch is concluded from lmdb-js's cached read snapshot, which can
    // be older than what another process has committed since (see freshSnapshot).
    if (!found?.whole) found = this.freshSnapshot(read);
    if (!found) return undefined;
    if (!found.whole) {
      this.dropEntry('blobs', hash, 'bytes do not re-hash to their address', { stage: at?.stage, item: at?.item });
      return undefined;
    }
    return found.bytes;
  }

  async hasActions(keys: readonly ActionKey[]): Promise<boolean> {
    for (const key of keys) {
      if (this.overlay.actions.has(key)) continue;
      if (this.read('actions', key, () => this.actions.doesExist(key)) !== true) return false;
    }
    return true;
  }

  async hasBlob(hash: ContentHash): Promise<boolean> {
    if (this.overlay.blobs.has(hash)) return true;
    // From the keys alone: doesExist reads the value, and a blob over the compression threshold
    // (a document's text or ids) is decompressed just to say it is there (~0.3 ms each; a
    // repository memo checks every document's three blobs).
    const has = () => this.read('blobs', hash, () => hasKey(this.blobs, hash)) ?? false;
    return has() || this.freshSnapshot(has);
  }

  /**
   * `read` again on a read transaction begun now. lmdb-js keeps one read transaction (one
   * snapshot) for every read until its next timer turn or this process's next commit, so a read
   * can miss what another process committed a moment ago (lmdb-js issue #250). A hit needs no
   * second look; a miss or a damaged entry does before it is acted on: a blob reported missing
   * fails the stage that needs it, and one dropped as damaged is removed for every build.
   */
  private freshSnapshot<T>(read: () => T): T {
    if (!this.damaged) {
      try {
        this.root.resetReadTxn();
      } catch {
        // the read below reports what is wrong
      }
    }
    return read();
  }

  /**
   * Store bytes, and stamp the blob as written now unless it was stamped within FRESH_MS: gc
   * keeps blobs stamped after the oldest live build's start - FRESH_MS, so a blob a build writes
   * (or finds already there) survives until the record naming it is committed. Bytes and stamp go
   * in one transaction, so a blob gc removed a moment ago is written again. `checked`: the bytes'
   * hash, taken by a caller that just re-hashed them (the remote tier, on fetching): not taken again.
   */
  async putBlob(bytes: Uint8Array, checked?: ContentHash): Promise<ContentHash> {
    this.check();
    const hash = checked ?? hashBytes(bytes);
    if (this.overlay.blobs.has(hash)) return hash;
    const now = Date.now();
    const fresh = !this.redo.has(hash) && !this.damaged && (() => {
      // A stamp that does not decode only means "not fresh": the blob's stamp is written again.
      let at: unknown;
      try {
        at = this.blobAt.get(hash);
      } catch {
        at = undefined;
      }
      return typeof at === 'number' && now - at < FRESH_MS && this.read('blobs', hash, () => hasKey(this.blobs, hash)) === true;
    })();
    if (!fresh) {
      const rewrite = this.redo.has(hash);
      this.redo.delete(hash);
      await this.write(
        `blob ${hash}`,
        () => {
          const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          // Conditional writes in lmdb-js's batch, not a transaction callback: a callback runs
          // on the main thread inside the write transaction, compressing (LZ4, values over the
          // threshold) and copying every blob there; batched writes are compressed on libuv's
          // threads and written by lmdb-js's writer. Issued together, they commit in one batch:
          // a blob gc removed a moment ago is written again (the condition is checked there).
          const written = rewrite ? this.blobs.put(hash, buf) : this.blobs.ifNoExists(hash, () => void this.blobs.put(hash, buf));
          return Promise.all([written, this.blobAt.put(hash, now)]);
        },
        // A copy of its own, taken before this call returns: the caller may then hand its buffer
        // to a worker (which detaches it and every view on it).
        () => this.overlay.blobs.set(hash, copyOf(bytes)),
      );
    }
    return hash;
  }

  async getItem(stage: string, item: string): Promise<ItemState | undefined> {
    this.check();
    const id = stage + '\0' + item;
    const kept = this.overlay.items.get(id);
    if (kept) return kept;
    return this.checkedItem(id, this.read('items', id, () => this.items.get(id)));
  }

  private checkedItem(id: string, v: unknown): ItemState | undefined {
    if (v === undefined) return undefined;
    const problem = itemStateProblem(v);
    if (!problem) return v as ItemState;
    const [stage, item] = id.split('\0');
    this.dropEntry('items', id, `item history ${problem}`, { stage, item });
    return undefined;
  }

  async recordItem(state: Omit<ItemState, 'previous'>): Promise<void> {
    const id = state.stage + '\0' + state.item;
    const current = await this.getItem(state.stage, state.item);
    if (current?.key === state.key) return;
    const next = (old: ItemState | undefined): ItemState => ({
      ...state,
      format: 1,
      previous: old ? { key: old.key, parts: old.parts, output: old.output, builtAt: old.builtAt } : undefined,
    });
    // Read and write in one transaction so concurrent builds never lose a `previous`.
    await this.write(
      `item ${id}`,
      () =>
        this.items.transaction(() => {
          let old: unknown;
          try {
            old = this.items.get(id);
          } catch {
            old = undefined; // undecodable: dropped above, replaced here
          }
          const prev = itemStateProblem(old) === undefined ? (old as ItemState) : undefined;
          if (prev && prev.key === state.key) return;
          // Settled with the transaction, whose failure write() handles.
          this.items.put(id, next(prev)).catch(() => undefined);
        }),
      () => this.overlay.items.set(id, next(current)),
    );
  }

  /**
   * Keys of a database, surviving damage: a hex-keyed database is walked in 256 ranges by the
   * first two hex digits, so an unreadable page loses at most the rest of its range. Errors from
   * LMDB are reported to `onError`.
   */
  private *safeKeys(store: StoreName, onError: (err: unknown) => void, range: { start?: string; end?: string } = {}, from = 0, onRange?: (i: number) => void): Iterable<string> {
    const db = this.db(store);
    const ranges: Array<{ start?: string; end?: string }> = [];
    if (store === 'items' || range.start !== undefined) ranges.push(range);
    else {
      for (let i = 0; i < 256; i++) ranges.push({ start: i.toString(16).padStart(2, '0'), end: i === 255 ? 'g' : (i + 1).toString(16).padStart(2, '0') });
      ranges.push({ start: 'g' }); // anything not hex (there should be nothing)
    }
    for (let i = from; i < ranges.length; i++) {
      const r = ranges[i]!;
      onRange?.(i);
      try {
        for (const key of db.getKeys(r)) yield key as string;
      } catch (err) {
        onError(err);
      }
    }
  }

  /** All item states of a stage, or of every stage (for status and explain); damaged ones skipped. */
  *itemStates(stage?: string): Iterable<ItemState> {
    const range = stage ? { start: stage + '\0', end: stage + '\u0001' } : {};
    const seen = new Set<string>();
    for (const [id, st] of this.overlay.items) if (!stage || st.stage === stage) {
      seen.add(id);
      yield st;
    }
    for (const id of this.safeKeys('items', (err) => this.markDamaged(`listing items: ${messageOf(err)}`), range)) {
      if (seen.has(id)) continue;
      const st = this.checkedItem(id, this.read('items', id, () => this.items.get(id)));
      if (st) yield st;
    }
  }

  *actionEntries(): Iterable<{ key: ActionKey; value: ActionRecord }> {
    for (const key of this.safeKeys('actions', (err) => this.markDamaged(`listing results: ${messageOf(err)}`))) {
      const value = this.read('actions', key, () => this.actions.get(key));
      if (value !== undefined && actionRecordProblem(value) === undefined) yield { key: key as ActionKey, value };
    }
  }

  *blobHashes(): Iterable<ContentHash> {
    for (const key of this.safeKeys('blobs', (err) => this.markDamaged(`listing blobs: ${messageOf(err)}`))) yield key as ContentHash;
  }

  async stats(): Promise<CacheStats> {
    const byStage: Record<string, number> = {};
    let actions = 0;
    for (const { value } of this.actionEntries()) {
      actions++;
      byStage[value.stage] = (byStage[value.stage] ?? 0) + 1;
    }
    let blobs = 0;
    let blobBytes = 0;
    for (const key of this.blobHashes()) {
      const size = this.read('blobs', key, () => this.blobs.getBinary(key)?.length);
      if (size === undefined) continue;
      blobs++;
      blobBytes += size;
    }
    let items = 0;
    for (const _ of this.safeKeys('items', (err) => this.markDamaged(`listing items: ${messageOf(err)}`))) items++;
    let fileBytes = 0;
    for (const f of readdirSync(this.dir)) fileBytes += statSync(join(this.dir, f)).size;
    return { actions, blobs, blobBytes, items, fileBytes, byStage };
  }

  /**
   * Check every entry: blobs re-hashed, records and item states against their schema, every
   * record's output and refs present. Reads nothing into the executor and drops nothing: the
   * report says what `repair` would remove. An LMDB error while walking is `environment`.
   */
  async verify(onProgress?: (done: number) => void): Promise<VerifyReport> {
    const report: VerifyReport = { actionsChecked: 0, blobsChecked: 0, itemsChecked: 0, corruptBlobs: [], missingBlobs: [], badRecords: [], badItems: [] };
    const envError = (where: string) => (err: unknown) => {
      report.environment ??= `${where}: ${messageOf(err)}`;
    };
    const good = new Set<string>();
    for (const key of this.safeKeys('blobs', envError('walking blobs'))) {
      report.blobsChecked++;
      try {
        const bytes = this.blobs.getBinary(key);
        if (bytes && hashBytes(bytes) === key) good.add(key);
        else report.corruptBlobs.push(key as ContentHash);
      } catch (err) {
        if (isEnvironmentError(err)) envError(`reading blob ${key}`)(err);
        report.corruptBlobs.push(key as ContentHash);
      }
      if (onProgress && report.blobsChecked % 1000 === 0) onProgress(report.blobsChecked);
    }
    for (const key of this.safeKeys('actions', envError('walking results'))) {
      report.actionsChecked++;
      let value: unknown;
      try {
        value = this.actions.get(key);
      } catch (err) {
        if (isEnvironmentError(err)) envError(`reading result ${key}`)(err);
        report.badRecords.push({ key: key as ActionKey, problem: `does not decode (${messageOf(err)})` });
        continue;
      }
      const problem = actionRecordProblem(value);
      if (problem) {
        report.badRecords.push({ key: key as ActionKey, problem: `record ${problem}` });
        continue;
      }
      const rec = value as ActionRecord;
      for (const blob of [rec.output, ...rec.refs]) {
        if (!good.has(blob)) report.missingBlobs.push({ key: key as ActionKey, stage: rec.stage, item: rec.item, blob });
      }
    }
    for (const id of this.safeKeys('items', envError('walking items'))) {
      report.itemsChecked++;
      try {
        const problem = itemStateProblem(this.items.get(id));
        if (problem) report.badItems.push({ key: id, problem: `item history ${problem}` });
      } catch (err) {
        if (isEnvironmentError(err)) envError(`reading item ${id}`)(err);
        report.badItems.push({ key: id, problem: `does not decode (${messageOf(err)})` });
      }
    }
    return report;
  }

  /** Remove what `verify` found broken, so the next build recomputes it. */
  async repair(report: VerifyReport): Promise<void> {
    const settled = (p: Promise<unknown>) => void p.catch(() => undefined); // the transaction reports failure
    await this.root.transaction(() => {
      for (const h of report.corruptBlobs) settled(this.blobs.remove(h));
      for (const r of report.badRecords) settled(this.actions.remove(r.key));
      for (const m of report.missingBlobs) settled(this.actions.remove(m.key));
      for (const i of report.badItems) settled(this.items.remove(i.key));
      this.markRemoval();
    });
  }

  /**
   * Copy every entry that reads back whole into `to` (a fresh environment): blobs that re-hash,
   * records that match their schema and whose blobs all came across, item states that match
   * theirs. What LMDB cannot read is left behind. Used by the repair of a damaged environment
   * (salvage.ts, in a child process: a damaged page can crash the reader).
   */
  async salvageInto(
    to: LmdbCache,
    opts: { from?: { store: StoreName; range: number }; onRange?: (store: StoreName, range: number, counts: { blobs: number; actions: number; items: number; lost: number }) => void } = {},
  ): Promise<{ blobs: number; actions: number; items: number; lost: number; errors: string[] }> {
    const out = { blobs: 0, actions: 0, items: 0, lost: 0, errors: [] as string[] };
    const onError = (err: unknown) => {
      out.lost++;
      if (out.errors.length < 20) out.errors.push(messageOf(err));
    };
    const order: StoreName[] = ['blobs', 'actions', 'items'];
    const startStore = order.indexOf(opts.from?.store ?? 'blobs');
    const start = (store: StoreName) => (order.indexOf(store) < startStore ? Infinity : store === opts.from?.store ? opts.from.range : 0);
    const progress = (store: StoreName) => (i: number) => opts.onRange?.(store, i, out);
    const pending: Array<Promise<unknown>> = [];
    for (const key of this.safeKeys('blobs', onError, {}, start('blobs'), progress('blobs'))) {
      try {
        const bytes = this.blobs.getBinary(key);
        if (!bytes || !isContentHash(key) || hashBytes(bytes) !== key) {
          out.lost++;
          continue;
        }
        pending.push(to.putBlob(Uint8Array.prototype.slice.call(bytes)));
        out.blobs++;
      } catch (err) {
        onError(err);
      }
    }
    await Promise.all(pending.splice(0));
    for (const key of this.safeKeys('actions', onError, {}, start('actions'), progress('actions'))) {
      try {
        const rec = this.actions.get(key);
        if (actionRecordProblem(rec) !== undefined) {
          out.lost++;
          continue;
        }
        let whole = true;
        for (const b of [rec!.output, ...rec!.refs]) if (!(await to.hasBlob(b))) whole = false;
        if (!whole) {
          out.lost++;
          continue;
        }
        pending.push(to.putAction(key as ActionKey, rec!));
        out.actions++;
      } catch (err) {
        onError(err);
      }
    }
    for (const id of this.safeKeys('items', onError, {}, start('items'), progress('items'))) {
      try {
        const st = this.items.get(id);
        if (itemStateProblem(st) !== undefined) {
          out.lost++;
          continue;
        }
        pending.push(to.items.put(id, st!));
        out.items++;
      } catch (err) {
        onError(err);
      }
    }
    await Promise.all(pending);
    return out;
  }

  /**
   * Garbage collection: evict action records not used within `maxAgeMs`, then the least recently
   * used until the blobs they keep fit in `maxBytes`; blobs no remaining record refers to go too.
   * `keep` names action keys that must survive (e.g. reachable from pinned dataset versions).
   */
  /**
   * Garbage collection: evict action records not used within `maxAgeMs`, then the least recently
   * used until the blobs they keep fit in `maxBytes`; blobs no remaining record refers to go too.
   * `keep` names action keys that must survive (e.g. reachable from pinned dataset versions).
   *
   * Safe while builds run: the whole decision is made inside one write transaction (no commit
   * can slip between reading and deleting), records used and blobs written since FRESH_MS before
   * the oldest live build lease started are kept, and a blob goes only when no record left after
   * the eviction names it (the record-blob closure is checked in that same transaction).
   * `dryRun` decides the same way and removes nothing.
   */
  async gc(opts: GcOptions): Promise<GcResult> {
    if (opts.dryRun) return this.gcDecide(opts, false);
    let result: GcResult = { actionsRemoved: 0, blobsRemoved: 0, bytesFreed: 0, liveBuilds: 0, keptForBuilds: 0 };
    await this.write('collect garbage', () => this.root.transaction(() => {
      result = this.gcDecide(opts, true);
    }), () => undefined);
    return result;
  }

  private gcDecide(opts: GcOptions, remove: boolean): GcResult {
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
    if (remove) for (const key of evict) void this.actions.remove(key);
    for (const [hash, size] of blobSize) {
      if (live.has(hash)) continue;
      const at = this.blobAt.get(hash);
      if (at !== undefined && at >= guardFrom) {
        keptForBuilds++;
        continue;
      }
      if (remove) {
        void this.blobs.remove(hash);
        void this.blobAt.remove(hash);
      }
      blobsRemoved++;
      bytesFreed += size;
    }
    if (remove && (evict.size > 0 || blobsRemoved > 0)) this.markRemoval();
    return { actionsRemoved: evict.size, blobsRemoved, bytesFreed, liveBuilds: builds.length, keptForBuilds };
  }

  /** What this run kept in memory after the environment was found damaged (for the repair). */
  keptInMemory(): { actions: Map<string, ActionRecord>; blobs: Map<string, Uint8Array>; items: Map<string, ItemState> } {
    return this.overlay;
  }

  /** Write entries kept by another (damaged) run into this environment. */
  async adopt(kept: ReturnType<LmdbCache['keptInMemory']>): Promise<void> {
    for (const bytes of kept.blobs.values()) await this.putBlob(bytes);
    for (const [key, rec] of kept.actions) await this.putAction(key as ActionKey, rec);
    for (const [id, st] of kept.items) await this.write(`item ${id}`, () => this.items.put(id, st), () => this.overlay.items.set(id, st));
  }

  private closed?: Promise<void>;

  /** Close: end the build lease, then the environment; never waits forever (CACHE_TIMEOUT). */
  async close(): Promise<void> {
    openCaches.delete(this);
    if (this.lease && !this.closed) await this.lease.stop().catch(() => undefined); // a dead lease is freed by its missing process or its TTL
    this.isClosed = true;
    if (this.damaged) {
      // Writes of a failed transaction may never settle, and close() waits for them: give it a
      // moment, then let the repair take over (the file is only read from here on).
      this.closed ??= Promise.race([this.root.close().catch(() => undefined), new Promise<void>((res) => setTimeout(res, 2000))]);
    }
    this.closed ??= this.watch().wait(this.root.close(), 'closing the cache');
    await this.closed;
  }
}

export interface GcOptions {
  maxAgeMs?: number;
  maxBytes?: number;
  keep?: Set<string>;
  dryRun?: boolean;
}

export interface GcResult {
  actionsRemoved: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Builds running on this cache while gc decided, and entries kept because they may use them. */
  liveBuilds: number;
  keptForBuilds: number;
}

/**
 * A copy with its own memory. `Buffer#slice` is a view on the same memory (like `subarray`), so a
 * Buffer's `slice()` is no copy: moving its buffer to a worker would empty the "copy" too.
 */
function copyOf(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

/**
 * Whether the entry under `key` is (still) damaged, read in the write transaction that would
 * remove it: a blob that does not re-hash to its address, a record or item state that does not
 * decode or fails its schema, a record whose output is still the one found undecodable. An
 * entry that is gone is not removed again.
 */
function stillDamaged(store: StoreName, key: string, db: Database<unknown, string>, output?: string): boolean {
  try {
    if (store === 'blobs') {
      const bytes = db.getBinary(key);
      return bytes !== undefined && hashBytes(bytes) !== key;
    }
    const value = db.get(key);
    if (value === undefined) return false;
    if (store === 'items') return itemStateProblem(value) !== undefined;
    if (actionRecordProblem(value) !== undefined) return true;
    return output !== undefined && (value as ActionRecord).output === output;
  } catch {
    return true; // does not decode
  }
}

function openFailed(dir: string, err: unknown): RetraceError {
  return new RetraceError('CACHE_OPEN_FAILED', `cannot open the LMDB cache: ${messageOf(err)}`, {
    item: dir,
    hint: 'check that the cache directory is writable and on a local filesystem (never NFS); --cache-dir picks another',
    cause: err,
  });
}
