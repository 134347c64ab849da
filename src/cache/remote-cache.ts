/**
 * The cache's view of a remote store: where things live, and what is trusted.
 *   cas/<hh>/<hash>         content blobs, re-hashed on every fetch (a bad one is never used)
 *   ac/<hh>/<key>           action records as JSON, optionally signed (`sig`); a small output
 *                           blob is also inlined (`inline`, base64): one request answers a hit
 *   roots/<name>/<id>       version roots (a record whose output lists the version's action keys)
 *   roots/<name>/latest     the id last pushed for <name>
 *   pins/<name>/<id>        versions remote garbage collection keeps
 *   packs/<name>/<id>/<n>   a pushed version's records, many a file (the same signed bodies)
 */
import { RetraceError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { hashBytes, isContentHash, type ActionKey, type ContentHash } from '../hash.ts';
import type { ActionRecord, Cache } from './cache.ts';
import type { RemoteCacheConfig } from '../config.ts';
import { MAX_RECORD_BYTES, MAX_UNSIZED_BLOB_BYTES, openRemoteStore, type RemoteStore } from './remote-store.ts';
import { checkSignature, signRecord } from './sign.ts';

export interface Trust {
  /** HMAC secret: records written are signed with it. */
  signingKey?: string;
  /** With a key, ignore records that are unsigned (badly signed ones are always ignored). */
  requireSignatures: boolean;
}

export interface RemoteCounters {
  actionsFetched: number;
  actionsSent: number;
  blobsFetched: number;
  blobsSent: number;
  bytesFetched: number;
  bytesSent: number;
  corruptBlobs: number;
  /** Output blobs that came inside their record (no request of their own). */
  blobsInlined: number;
  rejectedRecords: number;
  /** Entries refused by the read bounds: not a regular file, over the size its record states, too slow. */
  refusedEntries: number;
  /** Requests made to the store (reads, existence checks, writes). */
  requests: number;
}

export type ProblemHandler = (code: 'REMOTE_BLOB_CORRUPT' | 'REMOTE_UNTRUSTED' | 'REMOTE_ENTRY_REFUSED', item: string, message: string) => void;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * Output blobs up to this size travel inside their record as well as under cas/: a build
 * looking results up one after another pays one request per hit instead of two. Most outputs
 * (file entries, parse facts, graphs, document references) are a few hundred bytes.
 */
export const INLINE_MAX_BYTES = 4096;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const blobPath = (h: string): string => `cas/${h.slice(0, 2)}/${h}`;
export const actionPath = (k: string): string => `ac/${k.slice(0, 2)}/${k}`;
export const rootPath = (name: string, id: string): string => `roots/${checkName(name)}/${checkName(id)}`;
export const pinPath = (name: string, id: string): string => `pins/${checkName(name)}/${checkName(id)}`;
export const packPath = (name: string, id: string, n: number): string => `packs/${checkName(name)}/${checkName(id)}/${n}`;
/** Records per pack file: with outputs inlined (<= 4 KiB each), well under MAX_RECORD_BYTES. */
export const PACK_RECORDS = 1000;
const PACK_MAX_BYTES = MAX_RECORD_BYTES / 2;

function checkName(s: string): string {
  if (!NAME.test(s)) throw new RetraceError('USAGE', `"${s}" is not a dataset name or version id`, { item: s, hint: 'use name/version as `retrace dataset list` prints it' });
  return s;
}

export class RemoteCache {
  readonly counters: RemoteCounters = { actionsFetched: 0, actionsSent: 0, blobsFetched: 0, blobsSent: 0, bytesFetched: 0, bytesSent: 0, corruptBlobs: 0, blobsInlined: 0, rejectedRecords: 0, refusedEntries: 0, requests: 0 };
  /** Blobs known to be on the remote (fetched, checked or sent): never asked about again. */
  private readonly present = new Set<string>();
  /** Blobs found damaged on the remote: the next upload replaces them even though they exist. */
  readonly corrupt = new Set<ContentHash>();
  onProblem: ProblemHandler = () => {};
  /** Blob sizes stated by the remote records read so far: the most a fetch of that blob reads. */
  private readonly sizeOf = new Map<string, number>();

  constructor(readonly store: RemoteStore, readonly trust: Trust) {}

  get location(): string {
    return this.store.location;
  }

  /** A verified blob: bytes whose hash differs from their address are discarded, never returned. */
  async getBlob(hash: ContentHash): Promise<Uint8Array | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      this.counters.requests++;
      bytes = await this.store.get(blobPath(hash), { maxBytes: this.sizeOf.get(hash) ?? MAX_UNSIZED_BLOB_BYTES });
    } catch (err) {
      if (!(err instanceof RetraceError) || err.code !== 'REMOTE_ENTRY_REFUSED') throw err;
      // Reported and ignored like a damaged blob: the results needing it are recomputed.
      this.corrupt.add(hash);
      this.present.delete(hash);
      this.counters.refusedEntries++;
      this.onProblem('REMOTE_ENTRY_REFUSED', err.item ?? `${this.location}/${blobPath(hash)}`, `${err.message}; the results needing it are recomputed`);
      return undefined;
    }
    if (!bytes) return undefined;
    if (hashBytes(bytes) !== hash) {
      this.corrupt.add(hash);
      this.present.delete(hash);
      this.counters.corruptBlobs++;
      this.onProblem('REMOTE_BLOB_CORRUPT', `${this.location}/${blobPath(hash)}`, 'remote blob failed its hash check: discarded, the results needing it are recomputed');
      return undefined;
    }
    this.present.add(hash);
    this.counters.blobsFetched++;
    this.counters.bytesFetched += bytes.byteLength;
    return bytes;
  }

  async hasBlob(hash: ContentHash, size?: number): Promise<boolean> {
    if (this.present.has(hash)) return true;
    if (this.corrupt.has(hash)) return false;
    this.counters.requests++;
    let ok: boolean;
    try {
      ok = await this.store.has(blobPath(hash), size);
    } catch (err) {
      if (!(err instanceof RetraceError) || err.code !== 'REMOTE_ENTRY_REFUSED') throw err;
      this.corrupt.add(hash);
      this.counters.refusedEntries++;
      this.onProblem('REMOTE_ENTRY_REFUSED', err.item ?? `${this.location}/${blobPath(hash)}`, `${err.message}; the results needing it are recomputed`);
      return false;
    }
    if (ok) this.present.add(hash);
    return ok;
  }

  async putBlob(hash: ContentHash, bytes: Uint8Array): Promise<void> {
    this.counters.requests++;
    await this.store.put(blobPath(hash), bytes);
    this.present.add(hash);
    this.corrupt.delete(hash);
    this.counters.blobsSent++;
    this.counters.bytesSent += bytes.byteLength;
  }

  /** Which of these blobs the remote lacks (existence checks run in parallel, bounded by the store). */
  async missingBlobs(hashes: Iterable<ContentHash>): Promise<ContentHash[]> {
    return filterAsync([...hashes], async (h) => !(await this.hasBlob(h)));
  }

  async getAction(key: ActionKey): Promise<ActionRecord | undefined> {
    return (await this.getActionWithOutput(key))?.record;
  }

  /**
   * Write a version's records in packs (`packs/<name>/<id>/<n>`, PACK_RECORDS a file, each
   * record exactly as under ac/: signed for its key, small outputs inlined), so a reader gets a
   * version's results in a few requests instead of one per result. Skipped when the version's
   * packs are there. The records themselves must be under ac/ already (packs are a shortcut).
   */
  async putPacks(name: string, id: string, records: Array<[ActionKey, ActionRecord]>, blobs?: Pick<Cache, 'getBlob'>): Promise<void> {
    const w = await this.packWriter(name, id, blobs);
    await w?.add(records);
    await w?.close();
  }

  /**
   * A writer of a version's packs fed a chunk of records at a time (a version is streamed, never
   * held whole), or undefined when the version's packs are there already.
   */
  async packWriter(name: string, id: string, blobs?: Pick<Cache, 'getBlob'>): Promise<{ add(records: Array<[ActionKey, ActionRecord]>): Promise<void>; close(): Promise<void> } | undefined> {
    this.counters.requests++;
    if (await this.store.has(packPath(name, id, 0))) return undefined;
    let n = 0;
    let bodies: string[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      this.counters.requests++;
      await this.store.put(packPath(name, id, n++), encoder.encode(`[${bodies.join(',')}]`));
      bodies = [];
      size = 0;
    };
    return {
      add: async (records) => {
        for (let i = 0; i < records.length; i += PACK_RECORDS) {
          const part = records.slice(i, i + PACK_RECORDS);
          const encoded = await Promise.all(part.map(async ([k, rec]) => `[${JSON.stringify(k)},${decoder.decode(this.encode(k, await this.withInline(rec, blobs)))}]`));
          for (const b of encoded) {
            // A pack stays well under what a reader accepts for one file (MAX_RECORD_BYTES).
            if (bodies.length > 0 && (bodies.length >= PACK_RECORDS || size + b.length > PACK_MAX_BYTES)) await flush();
            bodies.push(b);
            size += b.length + 1;
          }
        }
      },
      close: async () => {
        if (bodies.length > 0) await flush();
      },
    };
  }

  /**
   * Pack `n` of a version: its entries, each record checked when used (checkPacked); an entry
   * that is not [key, record] is reported and left out; undefined past the last pack.
   */
  async getPack(name: string, id: string, n: number): Promise<PackedEntry[] | undefined> {
    const path = packPath(name, id, n);
    const bytes = await this.readEntry(path);
    if (!bytes) return undefined;
    let entries: unknown;
    try {
      entries = JSON.parse(decoder.decode(bytes));
    } catch {
      entries = undefined;
    }
    if (!Array.isArray(entries)) {
      this.counters.rejectedRecords++;
      this.onProblem('REMOTE_UNTRUSTED', `${this.location}/${path}`, 'remote pack ignored: not a JSON list of records');
      return undefined;
    }
    const out: PackedEntry[] = [];
    for (const e of entries) {
      const key = Array.isArray(e) && typeof e[0] === 'string' && /^[0-9a-f]{32}$/.test(e[0]) ? (e[0] as ActionKey) : undefined;
      if (!key) {
        this.counters.rejectedRecords++;
        this.onProblem('REMOTE_UNTRUSTED', `${this.location}/${path}`, 'remote result ignored: a pack entry that is not [key, record]');
        continue;
      }
      out.push({ key, body: e[1], where: `${this.location}/${path} (${key})` });
    }
    return out;
  }

  /**
   * A pack entry's record, checked as a record read from ac/ is (format, signature, sizes; a
   * failure is reported and undefined), its inlined output left for entryOutput. A version's
   * packs list far more records than a warm build reads: each is checked when used, not listed.
   */
  checkPacked(e: PackedEntry): RemoteEntry | undefined {
    const got = this.checkRecord(e.body, e.key, (why) => {
      this.counters.rejectedRecords++;
      this.onProblem('REMOTE_UNTRUSTED', e.where, `remote result ignored: ${why}`);
      return undefined;
    });
    if (!got) return undefined;
    this.counters.actionsFetched++;
    const { inline, ...record } = got;
    return { record, ...(inline === undefined ? {} : { inline: { value: inline, where: e.where } }) };
  }

  /** The output blob an entry carries: its bytes, or its inlined copy checked now (as splitInline does). */
  entryOutput(entry: RemoteEntry): Uint8Array | undefined {
    if (entry.output || !entry.inline) return entry.output;
    return this.checkInline(entry.record, entry.inline.value, entry.inline.where);
  }

  /**
   * A record, with its output blob's bytes when the record carries them inline (re-hashed
   * against the record's output: a mismatch is reported like a damaged blob and ignored).
   */
  async getActionWithOutput(key: ActionKey): Promise<{ record: ActionRecord; output?: Uint8Array } | undefined> {
    const got = await this.getRecord(actionPath(key), key);
    if (!got) return undefined;
    return this.splitInline(got, `${this.location}/${actionPath(key)}`);
  }

  /** The record without its inlined output, and those bytes if they re-hash to its output. */
  private splitInline(got: ActionRecord & { inline?: unknown }, where: string): { record: ActionRecord; output?: Uint8Array } {
    this.counters.actionsFetched++;
    const { inline, ...record } = got;
    if (inline === undefined) return { record };
    return { record, output: this.checkInline(record, inline, where) };
  }

  /** An inlined output's bytes if they re-hash to the record's output; else reported, and undefined (the blob is fetched on its own). */
  private checkInline(record: ActionRecord, inline: unknown, where: string): Uint8Array | undefined {
    const bytes = typeof inline === 'string' && inline.length <= ((INLINE_MAX_BYTES + 2) / 3) * 4 + 4 ? Buffer.from(inline, 'base64') : undefined;
    if (!bytes || hashBytes(bytes) !== record.output) {
      this.counters.corruptBlobs++;
      this.onProblem('REMOTE_BLOB_CORRUPT', where, 'the output inlined in this remote record failed its hash check: ignored, the blob is fetched on its own');
      return undefined;
    }
    this.present.add(record.output);
    this.counters.blobsInlined++;
    this.counters.bytesFetched += bytes.byteLength;
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async hasAction(key: ActionKey): Promise<boolean> {
    this.counters.requests++;
    return this.store.has(actionPath(key));
  }

  /**
   * Store a record. `blobs` (the writer's cache) supplies its output's bytes to inline when
   * they are small; the blob itself must be on the remote already (blobs go before records).
   */
  async putAction(key: ActionKey, record: ActionRecord, blobs?: Pick<Cache, 'getBlob'>): Promise<void> {
    const body = await this.withInline(record, blobs);
    this.counters.requests++;
    await this.store.put(actionPath(key), this.encode(key, body));
    this.counters.actionsSent++;
  }

  private async withInline(record: ActionRecord, blobs?: Pick<Cache, 'getBlob'>): Promise<ActionRecord & { inline?: string }> {
    const size = record.sizes?.[record.output];
    const output = blobs && (size === undefined || size <= INLINE_MAX_BYTES) ? await blobs.getBlob(record.output) : undefined;
    return output && output.byteLength <= INLINE_MAX_BYTES ? { ...record, inline: Buffer.from(output.buffer, output.byteOffset, output.byteLength).toString('base64') } : record;
  }

  async getRoot(name: string, id: string): Promise<ActionRecord | undefined> {
    const got = await this.getRecord(rootPath(name, id), rootAddress(name, id));
    if (!got) return undefined;
    const { inline: _, ...record } = got;
    return record;
  }

  async putRoot(name: string, id: string, record: ActionRecord): Promise<void> {
    await this.store.put(rootPath(name, id), this.encode(rootAddress(name, id), record));
    await this.store.put(`roots/${checkName(name)}/latest`, encoder.encode(id));
  }

  /** The id last pushed for a dataset name, if any. */
  async latest(name: string): Promise<string | undefined> {
    this.counters.requests++;
    const bytes = await this.store.get(`roots/${checkName(name)}/latest`);
    const id = bytes && decoder.decode(bytes).trim();
    return id && NAME.test(id) ? id : undefined;
  }

  /** A record as stored: signed over everything it carries (an inlined output included). */
  private encode(address: string, record: ActionRecord & { inline?: string }): Uint8Array {
    const body = this.trust.signingKey ? { ...record, sig: signRecord(this.trust.signingKey, address, record) } : record;
    return encoder.encode(JSON.stringify(body));
  }

  /** A record-sized read; an entry the store refuses is counted, reported and read as absent. */
  private async readEntry(path: string): Promise<Uint8Array | undefined> {
    try {
      this.counters.requests++;
      return await this.store.get(path);
    } catch (err) {
      if (!(err instanceof RetraceError) || err.code !== 'REMOTE_ENTRY_REFUSED') throw err;
      this.counters.refusedEntries++;
      this.onProblem('REMOTE_ENTRY_REFUSED', err.item ?? `${this.location}/${path}`, err.message);
      return undefined;
    }
  }

  /** Parse and check a record; anything malformed or untrusted is reported and ignored. */
  private async getRecord(path: string, address: string): Promise<(ActionRecord & { inline?: unknown }) | undefined> {
    const reject = (why: string): undefined => {
      this.counters.rejectedRecords++;
      this.onProblem('REMOTE_UNTRUSTED', `${this.location}/${path}`, `remote result ignored: ${why}`);
      return undefined;
    };
    const bytes = await this.readEntry(path);
    if (!bytes) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(bytes));
    } catch {
      return reject('not valid JSON');
    }
    return this.checkRecord(parsed, address, reject);
  }

  /** A parsed record, checked: the format, the signature over its address, the sizes it states. */
  private checkRecord(parsed: unknown, address: string, reject: (why: string) => undefined): (ActionRecord & { inline?: unknown }) | undefined {
    if (!isRecord(parsed)) return reject('not a result record of this format');
    const { sig, ...record } = parsed;
    if (this.trust.signingKey) {
      if (sig === undefined) {
        if (this.trust.requireSignatures) return reject('unsigned, and signatures are required');
      } else if (!checkSignature(this.trust.signingKey, address, record, sig)) {
        return reject('bad signature (written with another key, or altered)');
      }
    }
    if (record.sizes) for (const [h, n] of Object.entries(record.sizes)) this.sizeOf.set(h, Math.min(n, MAX_UNSIZED_BLOB_BYTES));
    return record;
  }
}

export const rootAddress = (name: string, id: string): string => `version:${name}/${id}`;

/** A record as a pack lists it: the key, and the body not checked yet (RemoteCache.checkPacked). */
export interface PackedEntry {
  key: ActionKey;
  body: unknown;
  where: string;
}

/**
 * A checked remote record and its output when it came with it: bytes already checked, or (a
 * pack entry) the inlined copy, checked when the record is used (RemoteCache.entryOutput).
 */
export interface RemoteEntry {
  record: ActionRecord;
  output?: Uint8Array;
  inline?: { value: unknown; where: string };
}

function isRecord(v: unknown): v is ActionRecord & { sig?: unknown } {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    r.format === 1 &&
    typeof r.stage === 'string' &&
    typeof r.item === 'string' &&
    typeof r.output === 'string' &&
    isContentHash(r.output) &&
    Array.isArray(r.refs) &&
    r.refs.every((x) => typeof x === 'string' && isContentHash(x)) &&
    typeof r.parts === 'object' &&
    r.parts !== null &&
    (r.sizes === undefined || validSizes(r.sizes, [r.output, ...r.refs] as string[]))
  );
}

/** `sizes` names only blobs of the record, each with a byte count. */
function validSizes(sizes: unknown, blobs: string[]): boolean {
  if (typeof sizes !== 'object' || sizes === null || Array.isArray(sizes)) return false;
  const named = new Set(blobs);
  return Object.entries(sizes).every(([h, n]) => named.has(h) && Number.isSafeInteger(n) && (n as number) >= 0);
}

/** Keep the items for which `pred` holds; checks run in chunks so a huge list holds few promises. */
export async function filterAsync<T>(items: T[], pred: (x: T) => Promise<boolean>, chunk = 4096): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += chunk) {
    const part = items.slice(i, i + chunk);
    const keep = await Promise.all(part.map(pred));
    part.forEach((x, j) => keep[j] && out.push(x));
  }
  return out;
}

/** Signing settings from `cache.remote`, the key read from the environment. */
export function trustFrom(cfg: RemoteCacheConfig | undefined, env: NodeJS.ProcessEnv = process.env): Trust {
  const signingKey = secretFrom(cfg, cfg?.signingKeyEnv, 'cache.remote.signingKeyEnv', env);
  return { signingKey, requireSignatures: cfg?.requireSignatures ?? signingKey !== undefined };
}

/** Open the remote named by `cache.remote`, reading its credentials from the environment. */
export function openRemote(cfg: RemoteCacheConfig, env: NodeJS.ProcessEnv = process.env): RemoteCache {
  const token = secretFrom(cfg, cfg.tokenEnv, 'cache.remote.tokenEnv', env);
  const store = openRemoteStore(cfg.url, { token, timeoutMs: cfg.timeoutMs, maxConcurrency: cfg.maxConcurrency, maxRetries: cfg.maxRetries });
  return new RemoteCache(store, trustFrom(cfg, env));
}

function secretFrom(cfg: RemoteCacheConfig | undefined, name: string | undefined, what: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!name) return undefined;
  const v = env[name];
  if (!v) {
    throw new RetraceError('REMOTE_AUTH', `the environment variable ${name} (${what}) is empty or not set`, {
      item: cfg?.url ? redactUrl(cfg.url) : what,
      hint: `export ${name}=..., or remove ${what} from the config`,
    });
  }
  return v;
}
