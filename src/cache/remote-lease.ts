/**
 * Leases and claims on a shared remote (issue 19), for machines that share only the remote
 * (scale-out partitions, CI runners, several workstations): what `lease.ts` does inside one
 * local LMDB cache, done with the remote store's plain files.
 *
 * - A build lease (`leases/<id>`): a read-write build puts it when it starts and puts it again
 *   every heartbeat with a higher beat count. Remote gc reads the server's clock (the mtime of a
 *   probe file it writes) and counts a lease live while its file is younger than
 *   REMOTE_LEASE_TTL_MS by that clock, so clocks of other machines never matter. While any build
 *   is live, gc keeps every record and blob uploaded since the oldest live build started (its
 *   beats × heartbeat, plus FRESH_MS): nothing a running build has just uploaded, or is about to
 *   name in a record, disappears under it.
 * - A claim (`claims/<k2>/<key>`): before computing an item of a claiming stage (an LLM call) a
 *   build claims its key on the remote. Another build that finds a live claim waits until the
 *   record appears on the remote (then uses it) or the claim stops changing for
 *   REMOTE_LEASE_TTL_MS by the waiter's own clock (its holder died: the waiter takes it over). A
 *   holder re-puts its claims with every heartbeat, and lets go of a claim only once the record
 *   has been uploaded.
 *
 * A shared directory creates a claim atomically (a hard link fails on an existing name). Plain
 * HTTP has no atomic create, so there a claim is put, left a moment for concurrent puts to land
 * (three times the put's own round trip), then read back: the last writer holds it and the others
 * wait. Two builds can still both pay for one call if a put arrives later than that; taking over a
 * dead holder's claim works the same way on both kinds of store.
 */
import { hostname } from 'node:os';
import { RetraceError } from '../errors.ts';
import type { ActionKey } from '../hash.ts';
import type { RemoteStore, StoredFile } from './remote-store.ts';

export const REMOTE_HEARTBEAT_MS = 5_000;
export const REMOTE_LEASE_TTL_MS = 30_000;
const CLAIM_POLL_MS = 250;
const MAX_LEASE_BYTES = 4096;

export const leasePath = (id: string): string => `leases/${id}`;
export const claimPath = (key: string): string => `claims/${key.slice(0, 2)}/${key}`;

interface LeaseBody {
  kind: 'build';
  id: string;
  host: string;
  pid: number;
  /** Heartbeats so far: the lease's age in REMOTE_HEARTBEAT_MS, whatever the clocks say. */
  beat: number;
}

interface ClaimBody {
  kind: 'claim';
  owner: string;
  beat: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parse<T extends { kind: string }>(bytes: Uint8Array | undefined, kind: T['kind']): { text: string; body?: T } | undefined {
  if (!bytes) return undefined;
  const text = decoder.decode(bytes);
  try {
    const body = JSON.parse(text);
    return { text, body: body && body.kind === kind ? (body as T) : undefined };
  } catch {
    return { text };
  }
}

export interface RemoteLeaseOptions {
  heartbeatMs?: number;
  /** How long a claim must stay unchanged before a waiter takes it over. */
  ttlMs?: number;
  pollMs?: number;
}

export class RemoteLease {
  private beat = 0;
  private timer?: NodeJS.Timeout;
  private readonly held = new Set<ActionKey>();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly pollMs: number;
  private stopped = false;

  constructor(
    readonly store: RemoteStore,
    readonly id: string,
    opts: RemoteLeaseOptions = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? REMOTE_HEARTBEAT_MS;
    this.ttlMs = opts.ttlMs ?? REMOTE_LEASE_TTL_MS;
    this.pollMs = opts.pollMs ?? CLAIM_POLL_MS;
  }

  /** Put the lease (before the build uploads anything), then keep it and its claims fresh. */
  async start(onError: (err: unknown) => void): Promise<void> {
    await this.heartbeat();
    this.timer = setInterval(() => {
      this.heartbeat().catch(onError);
    }, this.heartbeatMs);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    this.beat++;
    const lease: LeaseBody = { kind: 'build', id: this.id, host: hostname(), pid: process.pid, beat: this.beat };
    await this.store.put(leasePath(this.id), encoder.encode(JSON.stringify(lease)));
    await Promise.all([...this.held].map((k) => this.putClaim(k)));
  }

  private claimBytes(): Uint8Array {
    const body: ClaimBody = { kind: 'claim', owner: this.id, beat: this.beat };
    return encoder.encode(JSON.stringify(body));
  }

  private putClaim(key: ActionKey): Promise<void> {
    return this.store.put(claimPath(key), this.claimBytes());
  }

  private async readClaim(key: ActionKey): Promise<{ text: string; body?: ClaimBody } | undefined> {
    return parse<ClaimBody>(await this.store.get(claimPath(key), { maxBytes: MAX_LEASE_BYTES }), 'claim');
  }

  /**
   * Claim `key` on the remote, waiting while another live build holds it. 'waited' with the
   * claim not held means `answered()` found the record on the remote; 'waited' with the claim
   * held means a holder died or lost a race: either way, look the key up again first.
   */
  async claim(key: ActionKey, answered: () => Promise<boolean>, signal?: AbortSignal): Promise<'mine' | 'waited'> {
    let waited = false;
    let seen: string | undefined;
    let seenAt = 0;
    for (;;) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new RetraceError('BUILD_STOPPED', 'build stopped while waiting for a claim', { item: key });
      const held = await this.readClaim(key);
      if (held?.body && held.body.owner !== this.id) {
        if (held.text !== seen) {
          seen = held.text;
          seenAt = Date.now();
        }
        if (Date.now() - seenAt <= this.ttlMs) {
          waited = true;
          if (await answered()) return 'waited';
          await sleep(this.pollMs);
          continue;
        }
      }
      // Absent: made atomically where the store can.
      if (!held && this.store.create) {
        if (await this.store.create(claimPath(key), this.claimBytes())) {
          this.held.add(key);
          return waited ? 'waited' : 'mine';
        }
        waited = true;
        continue;
      }
      // Absent (plain HTTP), ours, unreadable, or unchanged for the TTL (its holder is gone):
      // put it, let concurrent puts land, and read back: the last writer holds it.
      const t0 = Date.now();
      await this.putClaim(key);
      await sleep(Math.max(50, 3 * (Date.now() - t0)));
      const back = await this.readClaim(key);
      if (back?.body?.owner === this.id) {
        this.held.add(key);
        return waited ? 'waited' : 'mine';
      }
      // Another build put its claim between our put and read-back: it won.
      waited = true;
      seen = undefined;
    }
  }

  /** Let go of a claim (call it once the record is on the remote, or the computation failed). */
  async release(key: ActionKey): Promise<void> {
    if (!this.held.delete(key)) return;
    const back = await this.readClaim(key);
    if (back?.body?.owner === this.id) await this.store.delete(claimPath(key));
  }

  /** End the lease and every claim still held. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    await Promise.all([...this.held].map((k) => this.release(k)));
    await this.store.delete(leasePath(this.id));
  }
}

export interface LiveLeases {
  /** The server's clock now (the mtime of a probe file just written). */
  serverNow: number;
  /** Uploads at or after this server time may belong to a running build: keep them. */
  protectFrom?: number;
  live: number;
  /** Lease and claim files of builds gone for over a day: safe to delete. */
  stale: StoredFile[];
}

/**
 * What remote gc must keep for running builds. The server's clock comes from a probe file's
 * mtime, so the age of a lease and of every upload is measured on one clock.
 */
export async function liveRemoteLeases(store: RemoteStore, freshMs: number, opts: RemoteLeaseOptions = {}): Promise<LiveLeases> {
  const heartbeatMs = opts.heartbeatMs ?? REMOTE_HEARTBEAT_MS;
  const ttlMs = opts.ttlMs ?? REMOTE_LEASE_TTL_MS;
  const probe = `leases/gc-probe-${process.pid}-${Date.now().toString(36)}`;
  await store.put(probe, encoder.encode('{"kind":"probe"}'));
  let files: StoredFile[] | undefined;
  try {
    files = await store.list('leases');
  } finally {
    await store.delete(probe);
  }
  const mine = files?.find((f) => f.path === probe);
  const serverNow = mine?.mtimeMs ?? Date.now();
  let oldest = 0;
  let live = 0;
  const stale: StoredFile[] = [];
  const day = 24 * 60 * 60 * 1000;
  for (const f of files ?? []) {
    if (f.path === probe) continue;
    const age = serverNow - f.mtimeMs;
    if (age > day) {
      stale.push(f);
      continue;
    }
    if (f.path.includes('/gc-probe-') || age > ttlMs) continue;
    const lease = parse<LeaseBody>(await store.get(f.path, { maxBytes: MAX_LEASE_BYTES }), 'build')?.body;
    if (!lease || !Number.isFinite(lease.beat)) continue;
    live++;
    oldest = Math.max(oldest, (lease.beat + 2) * heartbeatMs);
  }
  const claims = (await store.list('claims')) ?? [];
  for (const f of claims) if (serverNow - f.mtimeMs > day) stale.push(f);
  return { serverNow, live, stale, ...(live > 0 && { protectFrom: serverNow - oldest - freshMs }) };
}

export interface ClaimHooks {
  /** Whether the key's record is on the remote now (a waiter's answer). */
  answered(key: ActionKey): Promise<boolean>;
  /** Resolves once the key's record computed by this build has been uploaded (or never will be). */
  uploaded(key: ActionKey): Promise<void>;
  /** The remote stopped answering: the tier reports it and turns the remote off. */
  failed(err: unknown): void;
  /** Whether the remote is off for this run (then claims are local only). */
  off(): boolean;
  /** Drop what the tier remembers of the key's earlier lookup (a miss): the caller looks again. */
  forget(key: ActionKey): void;
}

/**
 * Claims of a build on a tiered cache: the local tier's (other processes on this machine), then
 * the remote's (other machines). A remote that fails never fails the build: its claims are
 * dropped and the build goes on with the local ones.
 */
export class TieredClaims {
  constructor(
    private readonly local: { claim(key: ActionKey, signal?: AbortSignal): Promise<'mine' | 'waited'>; release(key: ActionKey): Promise<void> } | undefined,
    private readonly remote: RemoteLease,
    private readonly hooks: ClaimHooks,
  ) {}

  async claim(key: ActionKey, signal?: AbortSignal): Promise<'mine' | 'waited'> {
    try {
      const local = this.local ? await this.local.claim(key, signal) : 'mine';
      if (local === 'waited' || this.hooks.off()) return local;
      try {
        return await this.remote.claim(key, () => this.hooks.answered(key), signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        this.hooks.failed(err);
        return 'mine';
      }
    } finally {
      this.hooks.forget(key);
    }
  }

  async release(key: ActionKey): Promise<void> {
    try {
      await this.hooks.uploaded(key);
      if (!this.hooks.off()) await this.remote.release(key);
    } catch (err) {
      this.hooks.failed(err);
    } finally {
      await this.local?.release(key);
    }
  }
}
