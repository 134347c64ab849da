/**
 * The local tier in front of a remote one, behind the one cache interface. Reads fall through
 * local -> remote; a remote hit is copied into the local tier together with every blob its
 * record needs, each re-hashed first, so a hit is complete or it is a miss (and recomputed).
 * In read-write mode, a computed result is uploaded in the background (blobs first, then the
 * record that points at them) and close() waits for the uploads. Any remote failure (a refused
 * token, an unreachable server) is reported once and turns the remote off for the rest of the
 * run: the build goes on with the local tier.
 */
import { asRetraceError, type ErrorCode, type RetraceError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import type { ActionKey, ContentHash, RecordKey } from '../hash.ts';
import type { RemoteCacheConfig } from '../config.ts';
import type { Reporter } from '../reporter.ts';
import type { ActionRecord, Cache, ItemState, ReadFor } from './cache.ts';
import type { LmdbCache } from './lmdb-store.ts';
import { rootKeyChunks } from './closure.ts';
import { getEngineRecord, putEngineRecord } from './records.ts';
import { blobPath, filterAsync, openRemote, type PackedEntry, type RemoteCache, type RemoteCounters, type RemoteEntry } from './remote-cache.ts';
import { RemoteLease, TieredClaims } from './remote-lease.ts';

export type RemoteMode = 'read-write' | 'read-only';

export interface RemoteSummary extends RemoteCounters {
  url: string;
  mode: RemoteMode;
  /** Blobs of remote hits this build never read, so never fetched (they stay on the remote). */
  blobsLeft: number;
  /** Why the remote was turned off during the run (an error code), if it was. */
  disabled?: string;
}

type Warn = (code: ErrorCode, item: string, message: string) => void;

/**
 * A local note that a remote blob was found damaged or refused when a stage read it: the next
 * builds on this machine treat it as absent (and recompute the results needing it) instead of
 * trusting the remote's existence check again. Evicted by local gc like any record.
 */
const badRemoteBlob = (hash: ContentHash): RecordKey => `remote-bad:${hash}` as RecordKey;

/** Fetched entries written to the local tier together (one LMDB transaction), at most LAND_DELAY_MS after the first. */
const LAND_BATCH = 512;
const LAND_DELAY_MS = 25;

/** Records the prefetch fetches at once: enough to hide round trips, few enough to bound memory. */
const PREFETCH_WINDOW = 64;

/**
 * Remote records the prefetch keeps in memory, read but not accepted (see `listed`): past this
 * many it stops, and the rest are fetched when the build asks for them (and, for a memo's
 * chain, checked one existence request each). About 1-2 KB each.
 */
const LISTED_MAX = 65_536;

export class TieredCache implements Cache {
  private disabled?: RetraceError;
  private readonly pending = new Set<Promise<void>>();
  /**
   * Remote hits on their way into the local tier. A local write resolves only when its
   * transaction commits (milliseconds, with an fsync); a hit must not wait for that, so it is
   * answered from here until the write lands. A record whose refs are still only on the remote
   * stays here (this run's memory) until they are fetched: the local tier never holds a record
   * without its blobs (cache verify, push and gc rely on that).
   */
  private readonly landing = { actions: new Map<ActionKey, ActionRecord>(), blobs: new Map<ContentHash, Uint8Array>() };
  /** Local writes of fetched entries, started together (see drainLandings). */
  private readonly landQueue: Array<() => void> = [];
  private landTimer?: NodeJS.Timeout;
  /** Remote records answered this run whose refs are not local yet: key -> refs still missing. */
  private readonly deferred = new Map<ActionKey, Set<ContentHash>>();
  /** The other way round: a ref only on the remote -> the deferred records naming it. */
  private readonly namedBy = new Map<ContentHash, Set<ActionKey>>();
  /**
   * Records the remote served ahead of the build: its latest version's pack entries (not even
   * checked yet: RemoteCache.checkPacked), or records looked up one by one for keys no pack
   * lists. No output fetched, no ref checked, nothing written locally. The build reads few of
   * them once memos answer whole repositories; one it reads is checked and accepted then
   * (fetchAction), and a memo's chain counts the others as present without landing them
   * (hasActions): a listing is the remote's word that a record exists, as an existence request
   * is; its content is trusted only once checked. Bounded by LISTED_MAX.
   */
  private readonly listed = new Map<ActionKey, PackedEntry | Promise<RemoteEntry | undefined>>();
  /** The prefetch's read of the version's packs, which a memo's existence check waits for. */
  private packsRead: Promise<void> = Promise.resolve();
  /** Local hits whose presence on the remote was checked (or uploaded) this run. */
  private readonly checked = new Set<ActionKey>();
  /** One remote lookup per key, per blob fetch and per existence check, shared by the build and the prefetch, answer kept. */
  private readonly asked = {
    actions: new Map<ActionKey, Promise<ActionRecord | undefined>>(),
    blobs: new Map<ContentHash, Promise<boolean>>(),
    present: new Map<ContentHash, Promise<boolean>>(),
    /** Records whose existence alone was asked (a memo's chain, keys no pack listed). */
    exists: new Map<ActionKey, Promise<boolean>>(),
  };

  /** This build's lease on the remote (remote-lease.ts), in read-write mode. */
  private lease?: RemoteLease;
  private tieredClaims?: TieredClaims;
  /** Uploads of records this build computed, by key: a remote claim is let go once its record is up. */
  private readonly uploads = new Map<ActionKey, Promise<void>>();

  /**
   * Claims of LLM calls: processes sharing this machine's LMDB tier wait for each other, and,
   * with a remote lease, builds on other machines sharing the remote do too.
   */
  get claims(): Cache['claims'] {
    if (!this.lease || this.disabled) return this.local.claims;
    this.tieredClaims ??= new TieredClaims(this.local.claims, this.lease, {
      answered: (key) => this.guard(() => this.remote.hasAction(key), false),
      uploaded: async (key) => void (await this.uploads.get(key)),
      failed: (err) => this.fail(err),
      off: () => this.disabled !== undefined,
      // The remote's earlier answer for the key was a miss: after a claim, ask it again.
      forget: (key) => void this.asked.actions.delete(key),
    });
    return this.tieredClaims;
  }

  /**
   * Register this build on the remote (read-write mode): remote gc keeps what it uploads while
   * it runs, and its claims on LLM calls are seen by builds on other machines.
   */
  async startLease(id: string): Promise<void> {
    if (this.mode !== 'read-write' || this.disabled || this.lease) return;
    const lease = new RemoteLease(this.remote.store, id);
    if (await this.guard(async () => (await lease.start((err) => this.fail(err)), true), false)) this.lease = lease;
  }

  constructor(
    readonly local: LmdbCache,
    readonly remote: RemoteCache,
    readonly mode: RemoteMode,
    private readonly warn: Warn,
    /** Records fetched ahead of the build at once by the prefetch (bounds its memory and sockets). */
    private readonly prefetchWindow = PREFETCH_WINDOW,
  ) {
    remote.onProblem = warn;
  }

  /**
   * Whether a memo's chain is all there (Executor.memo): each key present here, landing, or on
   * the remote, without fetching or landing any record. The remote's word is what it already
   * said in bulk (the prefetched packs of its latest version: `listed`), else one existence
   * request per key, in parallel; a record this run fetched counts if it was accepted. So a warm
   * machine answers a repository from its memo without writing the chain's records locally;
   * they land when a build reads them (getAction), or all at once with `cache pull`. A later
   * `cache push` of a version naming them sends what the remote lacks and checks the rest there
   * (transfer.ts). A pack can name a record that went from the remote by hand (remote gc drops
   * the packs naming what it evicts): the memo then hits, and a build reading that record
   * recomputes it, as for any record gone from a shared cache.
   */
  async hasActions(keys: readonly ActionKey[]): Promise<boolean> {
    if (await this.local.hasActions(keys)) return true;
    if (this.disabled) return false;
    await this.packsRead;
    // Most keys of a warm machine's chain are listed by the packs: answered without a promise each.
    const unsure = keys.filter((k) => {
      const e = this.listed.get(k);
      return !(e && !(e instanceof Promise)) && !this.landing.actions.has(k);
    });
    if (unsure.length === 0) return true;
    const gone = await filterAsync(unsure, async (k) => !((await this.local.hasActions([k])) || (await this.onRemoteAction(k))));
    return gone.length === 0;
  }

  /**
   * A stale memo's check (Executor.memo): the chain's local records are read, which re-stamps
   * them for gc by age; the rest are checked where they are, as hasActions does, not fetched.
   */
  async touchActions(keys: readonly ActionKey[]): Promise<boolean> {
    const here = await Promise.all(keys.map(async (k) => this.landing.actions.has(k) || (await this.local.getAction(k)) !== undefined));
    const away = keys.filter((_, i) => !here[i]);
    return away.length === 0 || this.hasActions(away);
  }

  /** Whether the remote has record `key`, as this run knows it (listed, fetched) or as one existence request says. */
  private async onRemoteAction(key: ActionKey): Promise<boolean> {
    const listed = this.listed.get(key);
    if (listed) return (await listed) !== undefined;
    const asked = this.asked.actions.get(key);
    if (asked) return (await asked) !== undefined;
    let p = this.asked.exists.get(key);
    if (!p) {
      p = this.guard(() => this.remote.hasAction(key), false);
      this.asked.exists.set(key, p);
    }
    return p;
  }

  async getAction(key: ActionKey, at?: ReadFor): Promise<ActionRecord | undefined> {
    const landing = this.landing.actions.get(key);
    const rec = landing ?? (await this.local.getAction(key, at));
    // A local result may never have reached the remote (its build was killed between storing
    // and uploading it): in read-write mode, the remote gets it now if it lacks it (issue 19).
    if (rec && !landing && this.mode === 'read-write' && !this.disabled && !this.checked.has(key)) {
      this.checked.add(key);
      this.track(this.guard(async () => {
        if (!(await this.remote.hasAction(key))) await this.upload(key, rec);
      }, undefined));
    }
    if (rec || this.disabled) return rec;
    return this.fetchAction(key);
  }

  /**
   * A hit's refs are there to read: in this tier (read back and re-hashed, as the executor does
   * without a remote), or on the remote, where an existence check stands for the bytes. They are
   * fetched only if a stage reads them (getBlob): a build that finds the downstream records never
   * downloads the file contents, document texts and token arrays behind them.
   */
  async refsAvailable(record: ActionRecord, at?: ReadFor): Promise<boolean> {
    const ok = await Promise.all(
      record.refs.map(async (h) => {
        if (this.landing.blobs.has(h)) return true;
        if (await this.local.hasBlob(h)) return (await this.local.getBlob(h, at)) !== undefined || this.onRemote(h, record.sizes?.[h]);
        return this.onRemote(h, record.sizes?.[h]);
      }),
    );
    return ok.every(Boolean);
  }

  /**
   * Start reading, in the background, what the remote's latest pushed version of `name` holds
   * and this cache lacks: its packs first (a request per thousand records), then, one by one
   * with a bounded window, keys no pack listed. A build asks for results one after another along
   * each repository's chain of stages; read ahead of it, they are mostly here by the time it
   * asks (it waits on the same request when one is in flight). What is read is only kept in
   * memory (`listed`): a record is accepted (its output fetched unless inlined, its refs checked)
   * and written locally when the build reads it, so a warm build whose memos answer whole
   * repositories writes only what it reads. Refs are never fetched ahead: see refsAvailable.
   */
  prefetch(name: string): void {
    let packsDone!: () => void;
    this.packsRead = new Promise((r) => (packsDone = r));
    this.track(
      this.guard(async () => {
        const id = await this.remote.latest(name);
        const root = id && (await this.remote.getRoot(name, id));
        if (!id || !root || !(await this.fetchBlob(root.output))) return;
        await this.fromPacks(name, id);
        packsDone();
        // The root's keys, a chunk at a time (cache/closure.ts); each chunk is fetched when reached.
        const read = async (h: ContentHash): Promise<Uint8Array | undefined> => ((await this.fetchBlob(h)) ? this.landing.blobs.get(h) ?? (await this.local.getBlob(h)) : undefined);
        try {
          for await (const keys of rootKeyChunks(read, root, `${name}/${id}`)) {
            let next = 0;
            const worker = async (): Promise<void> => {
              while (next < keys.length && !this.disabled && this.listed.size < LISTED_MAX) {
                const k = keys[next++]!;
                if (this.known(k) || (await this.local.hasActions([k]))) continue;
                const p = this.guard(() => this.remote.getActionWithOutput(k), undefined);
                this.listed.set(k, p);
                await p;
              }
            };
            await Promise.all(Array.from({ length: Math.min(this.prefetchWindow, keys.length) }, worker));
            if (this.disabled || this.listed.size >= LISTED_MAX) break;
          }
        } catch (err) {
          this.warn('REMOTE_PREFETCH_FAILED', `${this.remote.location} ${name}/${id}`, `${(err as Error).message}; not prefetching it`);
        }
      }, undefined).finally(() => packsDone()),
    );
  }

  /** A key this run has an answer or a request for already. */
  private known(key: ActionKey): boolean {
    return this.landing.actions.has(key) || this.listed.has(key) || this.asked.actions.has(key);
  }

  /**
   * The version's packs (remote-cache.ts), one request per thousand records, listed for the
   * build's lookups (each record checked as one read from ac/ when used; a refused one is then
   * read from ac/). Keys no pack lists are looked up one by one afterwards (a pushed version
   * without packs, an entry that is not [key, record]).
   */
  private async fromPacks(name: string, id: string): Promise<void> {
    for (let n = 0; !this.disabled && this.listed.size < LISTED_MAX; n++) {
      const pack = await this.remote.getPack(name, id, n);
      if (!pack) return;
      // Listed whether or not this tier holds them (every lookup asks it first): no read per entry.
      for (const e of pack) if (!this.known(e.key)) this.listed.set(e.key, e);
    }
  }

  async putAction(key: ActionKey, record: ActionRecord): Promise<void> {
    await this.local.putAction(key, record);
    if (this.mode === 'read-write' && !this.disabled) {
      const up = this.upload(key, record).finally(() => void this.uploads.delete(key));
      this.uploads.set(key, up);
      this.track(up);
    }
  }

  /** A blob's bytes: from this tier, or fetched from the remote now (verified, then kept here). */
  async getBlob(hash: ContentHash, at?: ReadFor): Promise<Uint8Array | undefined> {
    const bytes = this.landing.blobs.get(hash) ?? (await this.local.getBlob(hash, at));
    if (bytes || this.disabled) return bytes;
    return this.guard(async () => ((await this.fetchBlob(hash)) ? this.landing.blobs.get(hash) ?? this.local.getBlob(hash, at) : undefined), undefined);
  }

  /** A blob the caller is about to need: a remote copy is fetched into the local tier now. */
  async hasBlob(hash: ContentHash): Promise<boolean> {
    return this.landing.blobs.has(hash) || (await this.local.hasBlob(hash)) || (!this.disabled && (await this.guard(() => this.fetchBlob(hash), false)));
  }

  /** Blobs reach the remote with the record that refers to them (see upload). */
  async putBlob(bytes: Uint8Array): Promise<ContentHash> {
    return this.local.putBlob(bytes);
  }

  async getItem(stage: string, item: string): Promise<ItemState | undefined> {
    return this.local.getItem(stage, item);
  }

  async recordItem(state: Omit<ItemState, 'previous'>): Promise<void> {
    return this.local.recordItem(state);
  }

  /** Wait for background work: uploads, the prefetch, and remote hits landing in the local tier. */
  async flush(): Promise<void> {
    this.drainLandings();
    while (this.pending.size > 0) {
      await Promise.allSettled([...this.pending]);
      this.drainLandings();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.guard(() => lease.stop(), undefined);
    await this.local.close();
  }

  summary(): RemoteSummary {
    return { url: this.remote.location, mode: this.mode, ...this.remote.counters, blobsLeft: this.namedBy.size, disabled: this.disabled?.code };
  }

  /**
   * A remote record whose output blob is fetched (re-hashed) and whose refs are on the remote,
   * or undefined. It is kept locally once its refs are local too (deferred until then).
   */
  private fetchAction(key: ActionKey): Promise<ActionRecord | undefined> {
    let p = this.asked.actions.get(key);
    if (!p) {
      // Read ahead by the prefetch, or fetched now; accepted once, then served from landing or the local tier.
      const ahead = this.listed.get(key);
      this.listed.delete(key);
      p = this.guard(async () => {
        // A pack entry is checked now; one that fails is looked up on its own, from ac/.
        const got = ahead instanceof Promise ? await ahead : ((ahead && this.remote.checkPacked(ahead)) ?? (await this.remote.getActionWithOutput(key)));
        return got && this.accept(key, got);
      }, undefined);
      this.asked.actions.set(key, p);
    }
    return p;
  }

  /** A checked remote record (from ac/ or a pack) becomes a hit once its output is here and its refs on the remote. */
  private async accept(key: ActionKey, got: RemoteEntry): Promise<ActionRecord | undefined> {
    const remote = got.record;
    this.checked.add(key);
    // An output inlined in its record needs no request of its own.
    if (!this.landing.blobs.has(remote.output) && !this.asked.blobs.has(remote.output) && !(await this.local.hasBlob(remote.output))) {
      const inline = this.remote.entryOutput(got);
      if (inline) this.keepFetched(remote.output, inline);
    }
    const [output, refs] = await Promise.all([this.fetchBlob(remote.output), this.refsAvailable(remote)]);
    if (!output || !refs) return undefined;
    const copy: ActionRecord = { ...remote, usedAt: Date.now() };
    const missing = new Set<ContentHash>();
    for (const h of copy.refs) if (!this.landing.blobs.has(h) && !(await this.local.hasBlob(h))) missing.add(h);
    if (missing.size === 0) {
      this.land(this.landing.actions, key, copy, () => this.local.putAction(key, copy));
    } else {
      this.landing.actions.set(key, copy);
      this.deferred.set(key, missing);
      for (const h of missing) {
        let s = this.namedBy.get(h);
        if (!s) this.namedBy.set(h, (s = new Set()));
        s.add(key);
      }
    }
    return copy;
  }

  /**
   * Whether the remote holds a usable blob (one existence check per blob per run, in flight
   * shared), unless this machine found it bad before.
   */
  private onRemote(hash: ContentHash, size?: number): Promise<boolean> {
    if (this.disabled) return Promise.resolve(false);
    let p = this.asked.present.get(hash);
    if (!p) {
      p = this.guard(async () => !(await this.foundBad(hash)) && this.remote.hasBlob(hash, size), false);
      this.asked.present.set(hash, p);
    }
    return p;
  }

  /** This machine found the remote's copy of a blob bad in an earlier build (see lost). */
  private async foundBad(hash: ContentHash): Promise<boolean> {
    return (await getEngineRecord(this.local, badRemoteBlob(hash))) !== undefined;
  }

  private fetchBlob(hash: ContentHash): Promise<boolean> {
    let p = this.asked.blobs.get(hash);
    if (!p) {
      p = (async () => {
        if (this.landing.blobs.has(hash) || (await this.local.hasBlob(hash))) return true;
        const bytes = await this.remote.getBlob(hash);
        if (!bytes) {
          this.lost(hash);
          return false;
        }
        this.land(this.landing.blobs, hash, bytes, () => this.local.putBlob(bytes, hash));
        this.arrived(hash);
        return true;
      })();
      this.asked.blobs.set(hash, p);
    }
    return p;
  }

  /** A blob that arrived verified without a fetch of its own (inlined in its record). */
  private keepFetched(hash: ContentHash, bytes: Uint8Array): void {
    this.asked.blobs.set(hash, Promise.resolve(true));
    this.land(this.landing.blobs, hash, bytes, () => this.local.putBlob(bytes, hash));
    this.arrived(hash);
  }

  /** A ref of deferred records is here: those whose refs are now all local are kept locally. */
  private arrived(hash: ContentHash): void {
    const keys = this.namedBy.get(hash);
    if (!keys) return;
    this.namedBy.delete(hash);
    for (const key of keys) {
      const missing = this.deferred.get(key);
      if (!missing) continue;
      missing.delete(hash);
      if (missing.size > 0) continue;
      this.deferred.delete(key);
      const rec = this.landing.actions.get(key)!;
      this.land(this.landing.actions, key, rec, () => this.local.putAction(key, rec));
    }
  }

  /**
   * A ref that a remote hit promised turned out unusable when read (damaged, refused, gone):
   * the records naming it are forgotten for the rest of the run, never kept locally, and the
   * stage reading it fails with CACHE_BLOB_MISSING naming the blob. The remote reported the
   * blob (REMOTE_BLOB_CORRUPT / REMOTE_ENTRY_REFUSED); a note in the local tier makes the next
   * builds here treat it as absent, so they recompute the results needing it (and a
   * read-write client's upload of them replaces the bad blob).
   */
  private lost(hash: ContentHash): void {
    this.asked.present.set(hash, Promise.resolve(false));
    const keys = this.namedBy.get(hash);
    if (!keys) return;
    this.namedBy.delete(hash);
    const where = `${this.remote.location}/${blobPath(hash)}`;
    this.track(
      putEngineRecord(this.local, badRemoteBlob(hash), { kind: 'remote-bad', item: where, parts: { stage: 'remote-bad', version: '1', inputs: { blob: hash }, settings: {} }, value: { at: Date.now() } }).catch((err) =>
        this.warn('CACHE_WRITE_FAILED', where, (err as Error).message),
      ),
    );
    for (const key of keys) {
      this.deferred.delete(key);
      this.landing.actions.delete(key);
      this.asked.actions.set(key, Promise.resolve(undefined));
    }
  }

  /** Write to the local tier in the background, serving the value from memory until it lands. */
  private land<K, V>(map: Map<K, V>, key: K, value: V, write: () => Promise<unknown>): void {
    map.set(key, value);
    this.landQueue.push(() => this.track(write().then(() => void map.delete(key), (err) => this.warn('CACHE_WRITE_FAILED', String(key), (err as Error).message))));
    if (this.landQueue.length >= LAND_BATCH) this.drainLandings();
    else this.landTimer ??= setTimeout(() => this.drainLandings(), LAND_DELAY_MS);
  }

  /**
   * Start the queued local writes in one go: LMDB commits the writes issued in one turn as one
   * transaction (one fsync), where writes issued as each fetch completes would commit one by one.
   */
  private drainLandings(): void {
    if (this.landTimer) clearTimeout(this.landTimer);
    this.landTimer = undefined;
    for (const start of this.landQueue.splice(0)) start();
  }

  private async upload(key: ActionKey, record: ActionRecord): Promise<void> {
    await this.guard(async () => {
      const sent = await Promise.all(
        [record.output, ...record.refs].map(async (h) => {
          // A blob found bad on the remote (this run, or noted in an earlier one) is sent again.
          if (!this.remote.corrupt.has(h) && !(await this.foundBad(h)) && (await this.remote.hasBlob(h))) return true;
          const bytes = await this.local.getBlob(h);
          if (bytes) await this.remote.putBlob(h, bytes);
          return bytes !== undefined;
        }),
      );
      // Never publish a record whose blobs did not all make it.
      if (sent.every(Boolean)) await this.remote.putAction(key, record, this.local);
    }, undefined);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async guard<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.fail(err);
      return fallback;
    }
  }

  private fail(err: unknown): void {
    if (this.disabled) return;
    const e = asRetraceError(err, 'REMOTE_FAILED', this.remote.location);
    this.disabled = e;
    this.warn(e.code, e.item ?? this.remote.location, `${e.message}${e.hint ? ` (${e.hint})` : ''}; the remote cache is off for the rest of this run and the build goes on with the local cache`);
  }
}

/**
 * The cache a build uses: the local tier alone, or tiered with the configured remote (which
 * starts prefetching the last pushed version of `dataset`). A remote that cannot even be opened
 * (a credential missing from the environment) is reported and left out, so the build still runs.
 */
export function withRemote(local: LmdbCache, remote: RemoteCacheConfig | undefined, reporter: Reporter, dataset?: string): { cache: Cache; tiered?: TieredCache } {
  if (!remote || remote.mode === 'off') return { cache: local };
  const warn: Warn = (code, item, message) => reporter.emit({ type: 'warn', code, item, message });
  try {
    const tiered = new TieredCache(local, openRemote(remote), remote.mode ?? 'read-write', warn);
    if (!tiered.remote.trust.signingKey) {
      warn('REMOTE_UNSIGNED', tiered.remote.location, 'the remote cache is not signed: anyone who can write to it can make this build use forged results. Set cache.remote.signingKeyEnv (and requireSignatures) for a shared cache');
    }
    if (dataset && remote.prefetch !== false) tiered.prefetch(dataset);
    return { cache: tiered, tiered };
  } catch (err) {
    const e = asRetraceError(err, 'REMOTE_FAILED', redactUrl(remote.url));
    warn(e.code, e.item ?? redactUrl(remote.url), `${e.message}${e.hint ? ` (${e.hint})` : ''}; building with the local cache only`);
    return { cache: local };
  }
}
