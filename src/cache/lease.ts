/**
 * Leases in the local cache (issue 19): what lets several processes share one cache safely.
 *
 * - A build lease (`build/<id>`): every build registers one when it opens the cache and refreshes
 *   its heartbeat every LEASE_HEARTBEAT_MS. It is live while its heartbeat is younger than
 *   LEASE_TTL_MS and, on this host, while its process exists (so a kill -9 frees it at once).
 *   gc keeps everything a live build may be using (see `LmdbCache.gc`): records used and blobs
 *   written since FRESH_MS before the oldest live build started.
 * - A claim (`claim/<action key>`): a process about to compute an item of a claiming stage (an LLM
 *   call) claims its key first. Another process that misses the same key waits until the record
 *   appears (its answer) or the claim is released or its holder's lease dies, then takes it.
 *
 * Leases live in their own LMDB database, written in write transactions, so the check-and-claim
 * is atomic across processes.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database, RootDatabase } from 'lmdb';
import { RetraceError } from '../errors.ts';

export const LEASE_HEARTBEAT_MS = 5_000;
export const LEASE_TTL_MS = 30_000;
/** How often a waiter looks again at a claim held by another process. */
export const CLAIM_POLL_MS = 100;
/**
 * A record used or a blob written by a build is stamped (committed) when its stamp is older than
 * this, so everything a live build touches carries a stamp >= its start - FRESH_MS.
 */
export const FRESH_MS = 30 * 60 * 1000;

export interface BuildLeaseValue {
  kind: 'build';
  pid: number;
  host: string;
  startedAt: number;
  heartbeatAt: number;
}

export interface ClaimValue {
  kind: 'claim';
  /** The build lease id holding the claim. */
  owner: string;
  at: number;
}

export type LeaseValue = BuildLeaseValue | ClaimValue;

const HOST = hostname();

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isLive(v: BuildLeaseValue | undefined, now = Date.now()): boolean {
  if (!v || v.kind !== 'build') return false;
  if (now - v.heartbeatAt > LEASE_TTL_MS) return false;
  if (v.host === HOST && !processExists(v.pid)) return false;
  return true;
}

/** Live build leases, oldest first. */
export function liveBuilds(db: Database<LeaseValue, string>, now = Date.now()): Array<BuildLeaseValue & { id: string }> {
  const out: Array<BuildLeaseValue & { id: string }> = [];
  for (const { key, value } of db.getRange({ start: 'build/', end: 'build0' })) {
    if (value?.kind === 'build' && isLive(value, now)) out.push({ ...value, id: key.slice('build/'.length) });
  }
  return out.sort((a, b) => a.startedAt - b.startedAt);
}

export class BuildLease {
  readonly id = `${process.pid}-${randomBytes(6).toString('hex')}`;
  readonly startedAt = Date.now();
  private timer?: NodeJS.Timeout;
  private readonly mine = new Set<string>();

  constructor(
    private readonly root: RootDatabase,
    private readonly db: Database<LeaseValue, string>,
  ) {}

  private value(): BuildLeaseValue {
    return { kind: 'build', pid: process.pid, host: HOST, startedAt: this.startedAt, heartbeatAt: Date.now() };
  }

  /** Register (committed before the build reads anything), then heartbeat; stale leases are swept. */
  async start(): Promise<void> {
    const now = Date.now();
    await this.root.transaction(() => {
      for (const { key, value } of this.db.getRange({ start: 'build/', end: 'build0' })) {
        if (!isLive(value as BuildLeaseValue, now)) void this.db.remove(key);
      }
      void this.db.put(`build/${this.id}`, this.value());
    });
    this.timer = setInterval(() => {
      this.db.put(`build/${this.id}`, this.value()).catch(() => undefined);
    }, LEASE_HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * Claim `key` for this build, waiting first while another live build holds it. Either way the
   * claim is then held (call `release`); 'waited' means another build held it, so look the key up
   * again before computing: its record is likely there.
   */
  async claim(key: string, signal?: AbortSignal): Promise<'mine' | 'waited'> {
    const id = `claim/${key}`;
    let waited = false;
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new RetraceError('LLM_BUDGET_EXHAUSTED', 'build stopped', { item: key });
      let won = false;
      const held = this.db.get(id) as ClaimValue | undefined;
      if (!held || held.owner === this.id || !isLive(this.db.get(`build/${held.owner}`) as BuildLeaseValue | undefined)) {
        await this.root.transaction(() => {
          const h = this.db.get(id) as ClaimValue | undefined;
          if (h && h.owner !== this.id && isLive(this.db.get(`build/${h.owner}`) as BuildLeaseValue | undefined)) return;
          void this.db.put(id, { kind: 'claim', owner: this.id, at: Date.now() });
          won = true;
        });
      }
      if (won) {
        this.mine.add(id);
        return waited ? 'waited' : 'mine';
      }
      waited = true;
      await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
    }
  }

  /** Release a claim once its result is committed (or its computation failed). */
  async release(key: string): Promise<void> {
    const id = `claim/${key}`;
    if (!this.mine.delete(id)) return;
    await this.root.transaction(() => {
      const h = this.db.get(id) as ClaimValue | undefined;
      if (h?.owner === this.id) void this.db.remove(id);
    });
  }

  /** End the lease and every claim it still holds. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const mine = [...this.mine];
    this.mine.clear();
    await this.root.transaction(() => {
      for (const id of mine) void this.db.remove(id);
      void this.db.remove(`build/${this.id}`);
    });
  }
}
