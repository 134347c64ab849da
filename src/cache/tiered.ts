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
import type { ActionKey, ContentHash } from '../hash.ts';
import type { RemoteCacheConfig } from '../config.ts';
import type { Reporter } from '../reporter.ts';
import type { ActionRecord, Cache, ItemState } from './cache.ts';
import type { LmdbCache } from './lmdb-store.ts';
import { rootKeyChunks } from './closure.ts';
import { openRemote, type RemoteCache, type RemoteCounters } from './remote-cache.ts';
import { RemoteLease, TieredClaims } from './remote-lease.ts';

export type RemoteMode = 'read-write' | 'read-only';

export interface RemoteSummary extends RemoteCounters {
  url: string;
  mode: RemoteMode;
  /** Why the remote was turned off during the run (an error code), if it was. */
  disabled?: string;
}

type Warn = (code: ErrorCode, item: string, message: string) => void;

export class TieredCache implements Cache {
  private disabled?: RetraceError;
  private readonly pending = new Set<Promise<void>>();
  /**
   * Remote hits on their way into the local tier. A local write resolves only when its
   * transaction commits (milliseconds, with an fsync); a hit must not wait for that, so it is
   * answered from here until the write lands.
   */
  private readonly landing = { actions: new Map<ActionKey, ActionRecord>(), blobs: new Map<ContentHash, Uint8Array>() };
  /** One remote lookup per key and per blob, shared by the build and the prefetch, answer kept. */
  /** Local hits whose presence on the remote was checked (or uploaded) this run. */
  private readonly checked = new Set<ActionKey>();
  private readonly asked = { actions: new Map<ActionKey, Promise<ActionRecord | undefined>>(), blobs: new Map<ContentHash, Promise<boolean>>() };

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
  ) {
    remote.onProblem = warn;
  }

  async getAction(key: ActionKey): Promise<ActionRecord | undefined> {
    const landing = this.landing.actions.get(key);
    const rec = landing ?? (await this.local.getAction(key));
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
   * Start fetching, in the background, what the remote's latest pushed version of `name`
   * needs and this cache lacks. A build asks for results one after another along each
   * repository's chain of stages, one round trip each; fetched in bulk ahead of it, they are
   * mostly here by the time it asks (it waits on the same request when one is in flight).
   */
  prefetch(name: string): void {
    this.track(
      this.guard(async () => {
        const id = await this.remote.latest(name);
        const root = id && (await this.remote.getRoot(name, id));
        if (!root || !(await this.fetchBlob(root.output))) return;
        // The root's keys, a chunk at a time (cache/closure.ts); each chunk is fetched when reached.
        const read = async (h: ContentHash): Promise<Uint8Array | undefined> => ((await this.fetchBlob(h)) ? this.landing.blobs.get(h) ?? (await this.local.getBlob(h)) : undefined);
        try {
          for await (const keys of rootKeyChunks(read, root, `${name}/${id}`)) {
            for (let i = 0; i < keys.length && !this.disabled; i += 4096) {
              await Promise.all(keys.slice(i, i + 4096).map(async (k) => this.landing.actions.has(k) || (await this.local.getAction(k)) || this.fetchAction(k)));
            }
            if (this.disabled) break;
          }
        } catch (err) {
          this.warn('REMOTE_PREFETCH_FAILED', `${this.remote.location} ${name}/${id}`, `${(err as Error).message}; not prefetching it`);
        }
      }, undefined),
    );
  }

  async putAction(key: ActionKey, record: ActionRecord): Promise<void> {
    await this.local.putAction(key, record);
    if (this.mode === 'read-write' && !this.disabled) {
      const up = this.upload(key, record).finally(() => void this.uploads.delete(key));
      this.uploads.set(key, up);
      this.track(up);
    }
  }

  async getBlob(hash: ContentHash): Promise<Uint8Array | undefined> {
    const bytes = this.landing.blobs.get(hash) ?? (await this.local.getBlob(hash));
    if (bytes || this.disabled) return bytes;
    return this.guard(async () => ((await this.fetchBlob(hash)) ? this.landing.blobs.get(hash) ?? this.local.getBlob(hash) : undefined), undefined);
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
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.flush();
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.guard(() => lease.stop(), undefined);
    await this.local.close();
  }

  summary(): RemoteSummary {
    return { url: this.remote.location, mode: this.mode, ...this.remote.counters, disabled: this.disabled?.code };
  }

  /** A remote record, kept locally with all its blobs (each re-hashed), or undefined. */
  private fetchAction(key: ActionKey): Promise<ActionRecord | undefined> {
    let p = this.asked.actions.get(key);
    if (!p) {
      p = this.guard(async () => {
        const remote = await this.remote.getAction(key);
        if (!remote) return undefined;
        this.checked.add(key);
        const fetched = await Promise.all([remote.output, ...remote.refs].map((h) => this.fetchBlob(h)));
        if (!fetched.every(Boolean)) return undefined;
        const copy: ActionRecord = { ...remote, usedAt: Date.now() };
        this.land(this.landing.actions, key, copy, () => this.local.putAction(key, copy));
        return copy;
      }, undefined);
      this.asked.actions.set(key, p);
    }
    return p;
  }

  private fetchBlob(hash: ContentHash): Promise<boolean> {
    let p = this.asked.blobs.get(hash);
    if (!p) {
      p = (async () => {
        if (this.landing.blobs.has(hash) || (await this.local.hasBlob(hash))) return true;
        const bytes = await this.remote.getBlob(hash);
        if (!bytes) return false;
        this.land(this.landing.blobs, hash, bytes, () => this.local.putBlob(bytes));
        return true;
      })();
      this.asked.blobs.set(hash, p);
    }
    return p;
  }

  /** Write to the local tier in the background, serving the value from memory until it lands. */
  private land<K, V>(map: Map<K, V>, key: K, value: V, write: () => Promise<unknown>): void {
    map.set(key, value);
    this.track(write().then(() => void map.delete(key), (err) => this.warn('CACHE_WRITE_FAILED', String(key), (err as Error).message)));
  }

  private async upload(key: ActionKey, record: ActionRecord): Promise<void> {
    await this.guard(async () => {
      const sent = await Promise.all(
        [record.output, ...record.refs].map(async (h) => {
          if (!this.remote.corrupt.has(h) && (await this.remote.hasBlob(h))) return true;
          const bytes = await this.local.getBlob(h);
          if (bytes) await this.remote.putBlob(h, bytes);
          return bytes !== undefined;
        }),
      );
      // Never publish a record whose blobs did not all make it.
      if (sent.every(Boolean)) await this.remote.putAction(key, record);
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
