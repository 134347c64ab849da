/**
 * Version roots and closures. A build records every action key it answered or computed, and a
 * small "version root" record stored in the action store under `version:<name>/<id>` points at
 * them. From a root one reaches every action record of the version and every blob those records
 * need (output and refs): the closure, which is what push, pull, export and garbage collection
 * of pinned versions walk. With the closure present, a build of the same config computes nothing.
 *
 * Flat memory whatever the corpus size (issue 17): the keys never sit in memory all at once.
 * During the build `UsedKeys` keeps a bounded buffer of recent keys (de-duplicated there) and
 * writes it to the cache as a numbered chunk blob each time it fills (sorted 16-byte binary keys,
 * content-addressed, so identical chunks share storage). The root's output is a small head blob
 * naming the chunks in order (`{format: 'retrace-root', version: 2, keys, chunks}`), and the root
 * record's refs name the chunks too, so every tier keeps and moves them like any record's blobs.
 * Readers stream the chunks (`rootKeyChunks`), one at a time. A key may appear in two chunks
 * (it was used again after its chunk was written): readers remove such repeats exactly up to
 * READ_DEDUP_KEYS distinct keys, and beyond that pass them on; every consumer is idempotent.
 * Roots written before chunking (the head is a plain JSON list of keys) are still read.
 */
import { RetraceError } from '../errors.ts';
import type { ActionKey, ContentHash, RecordKey } from '../hash.ts';
import type { ActionRecord, Cache } from './cache.ts';
import { rootAddress } from './remote-cache.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Keys per chunk: 65,536 keys are a 1 MiB blob; a 1M-repository build (75M keys) has ~1,150 chunks. */
export const ROOT_CHUNK_KEYS = 65_536;
/** Readers remove keys repeated across chunks exactly up to this many distinct keys (~90 MB). */
export const READ_DEDUP_KEYS = 1_000_000;

const MAGIC = encoder.encode('RKC1');
const KEY_BYTES = 16;
const HEX_KEY = /^[0-9a-f]{32}$/;
const HASH = /^[0-9a-f]{32}$/;

export const rootKey = (name: string, version: string): RecordKey => rootAddress(name, version) as RecordKey;

type BlobReader = (hash: ContentHash) => Promise<Uint8Array | undefined>;

/** A chunk blob: "RKC1", then each key as 16 bytes, in sorted order. */
export function encodeKeyChunk(sorted: readonly ActionKey[]): Uint8Array {
  // One native hex decode of all keys; a key that is not 32 hex digits shows as a length mismatch.
  const body = Buffer.from(sorted.join(''), 'hex');
  if (body.byteLength !== sorted.length * KEY_BYTES || sorted.some((k) => k.length !== 2 * KEY_BYTES)) {
    const bad = sorted.find((k) => !HEX_KEY.test(k)) ?? sorted[0];
    throw new RetraceError('CACHE_ROOT_INVALID', `"${bad}" is not an action key (32 hex digits) and cannot be listed in a version root`, { item: bad, hint: 'this is a bug in the caller of recordRoot: report it' });
  }
  const buf = Buffer.allocUnsafe(MAGIC.length + body.byteLength);
  buf.set(MAGIC, 0);
  buf.set(body, MAGIC.length);
  return buf;
}

export function decodeKeyChunk(bytes: Uint8Array, item: string): ActionKey[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = buf.byteLength - MAGIC.length;
  if (body < 0 || body % KEY_BYTES !== 0 || !MAGIC.every((b, i) => buf[i] === b)) {
    throw new RetraceError('CACHE_ROOT_INVALID', 'a key chunk of this version root is not a list of 16-byte keys', { item, hint: 'build the version again to rewrite its root' });
  }
  const out = new Array<ActionKey>(body / KEY_BYTES);
  for (let i = 0, at = MAGIC.length; i < out.length; i++, at += KEY_BYTES) out[i] = buf.toString('hex', at, at + KEY_BYTES) as ActionKey;
  return out;
}

/**
 * The action keys a build used, streamed to the cache in chunks as they come (executor.ts).
 * Without a sink (status mode, which records no root) keys are only counted.
 */
export class UsedKeys {
  private buffer = new Set<ActionKey>();
  private readonly chunks: Promise<ContentHash>[] = [];
  private flushed = 0;
  /** Byte size of each chunk written: the root record states them (a remote reader reads no more). */
  readonly sizes: Record<string, number> = {};

  constructor(
    private readonly sink: Pick<Cache, 'putBlob'> | undefined,
    readonly chunkKeys = ROOT_CHUNK_KEYS,
  ) {
    if (!Number.isInteger(chunkKeys) || chunkKeys < 1) throw new RangeError(`chunkKeys must be a positive integer, not ${chunkKeys}`);
  }

  add(key: ActionKey): void {
    this.buffer.add(key);
    if (this.buffer.size >= this.chunkKeys) this.flush();
  }

  /** Keys recorded so far; a key written in two chunks counts twice. */
  get size(): number {
    return this.flushed + this.buffer.size;
  }

  /** Chunks written (or being written) so far. */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /** Write the buffer as the next chunk (the write runs in the background; `finish` waits for it). */
  private flush(): void {
    if (this.buffer.size === 0) return;
    const keys = [...this.buffer].sort();
    this.buffer = new Set();
    this.flushed += keys.length;
    if (!this.sink) return;
    const bytes = encodeKeyChunk(keys);
    const p = this.sink.putBlob(bytes).then((h) => {
      this.sizes[h] = bytes.byteLength;
      return h;
    });
    // Rejections are reported by finish(), which every root writer awaits.
    p.catch(() => undefined);
    this.chunks.push(p);
  }

  /** Flush the buffer and wait for every chunk: their hashes, in order. Adding may go on after. */
  async finish(): Promise<ContentHash[]> {
    this.flush();
    return Promise.all(this.chunks);
  }
}

/** What a root's head blob says: its chunks in order (or, for a root written before chunking, the keys themselves). */
export interface RootHead {
  keys: number;
  chunks: ContentHash[];
  /** A root written before chunking: its whole key list. */
  legacy?: ActionKey[];
}

/** Store the root of a built version (written again on every build of it, which keeps it fresh). */
export async function recordRoot(cache: Cache, name: string, version: string, keys: UsedKeys | Iterable<ActionKey>, chunkKeys = ROOT_CHUNK_KEYS): Promise<void> {
  let log: UsedKeys;
  if (keys instanceof UsedKeys) {
    log = keys;
  } else {
    log = new UsedKeys(cache, chunkKeys);
    for (const k of keys) log.add(k);
  }
  const chunks = await log.finish();
  const head = encoder.encode(JSON.stringify({ format: 'retrace-root', version: 2, keys: log.size, chunks }));
  const output = await cache.putBlob(head);
  const sizes: Record<string, number> = { [output]: head.byteLength };
  for (const h of chunks) sizes[h] = log.sizes[h];
  const now = Date.now();
  await cache.putAction(rootKey(name, version), {
    format: 1,
    stage: 'version',
    item: `${name}/${version}`,
    output,
    refs: [...new Set(chunks)],
    sizes,
    parts: { stage: 'version', version: '2', inputs: { keys: output }, settings: {} },
    ms: 0,
    createdAt: now,
    usedAt: now,
  });
}

/** A root's head from its bytes: a chunked root, or the plain key list of a root written before chunking. */
export function decodeRootHead(bytes: Uint8Array, item: string): RootHead {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    value = undefined;
  }
  if (Array.isArray(value) && value.every((k) => typeof k === 'string')) return { keys: value.length, chunks: [], legacy: value as ActionKey[] };
  const head = value as { format?: unknown; version?: unknown; keys?: unknown; chunks?: unknown } | undefined;
  if (head && head.format === 'retrace-root' && head.version === 2 && Number.isInteger(head.keys) && Array.isArray(head.chunks) && head.chunks.every((h) => typeof h === 'string' && HASH.test(h))) {
    return { keys: head.keys as number, chunks: head.chunks as ContentHash[] };
  }
  throw new RetraceError('CACHE_ROOT_INVALID', 'the head of this version root is neither a chunk list (format retrace-root 2) nor a key list', { item, hint: 'build the version again to rewrite its root' });
}

/**
 * The action keys of a root written before chunking, from the bytes of its key-list blob.
 * A chunked root's head is refused with a coded error: read those with `rootKeyChunks`.
 */
export function decodeKeyList(bytes: Uint8Array, item: string): ActionKey[] {
  const head = decodeRootHead(bytes, item);
  if (head.legacy) return head.legacy;
  throw new RetraceError('CACHE_ROOT_INVALID', 'this version root lists its keys in chunks; it is read with rootKeyChunks (cache/closure.ts)', { item, hint: 'update the caller to stream the chunks' });
}

/** The head of a root, or undefined when its head blob is not in the store. */
export async function readRootHead(read: BlobReader, root: Pick<ActionRecord, 'output'>, item: string): Promise<RootHead | undefined> {
  const bytes = await read(root.output);
  return bytes && decodeRootHead(bytes, item);
}

/** Blobs a root needs besides its records' own: the head and the chunks. */
export function rootBlobs(root: Pick<ActionRecord, 'output'>, head: RootHead): ContentHash[] {
  return [root.output, ...new Set(head.chunks)];
}

/** Remembers up to `limit` values; past it, new values are let through unremembered. */
export class BoundedSeen<T> {
  private readonly seen = new Set<T>();
  constructor(readonly limit: number) {}
  /** True the first time a value is offered (and every time, once the set is full and the value is not in it). */
  fresh(value: T): boolean {
    if (this.seen.has(value)) return false;
    if (this.seen.size < this.limit) this.seen.add(value);
    return true;
  }
}

/**
 * The keys of a root, a chunk at a time (each read, checked and decoded only when the consumer
 * asks for it). A missing chunk is an error naming the root: a root is written after its chunks.
 */
export async function* rootKeyChunks(read: BlobReader, root: Pick<ActionRecord, 'output'>, item: string, opts: { head?: RootHead; dedupKeys?: number } = {}): AsyncGenerator<ActionKey[]> {
  const head = opts.head ?? (await readRootHead(read, root, item));
  if (!head) throw new RetraceError('CACHE_ROOT_INVALID', `the head blob ${root.output} of version root ${item} is missing`, { item, hint: 'build the version again to rewrite its root' });
  if (head.legacy) {
    yield [...new Set(head.legacy)];
    return;
  }
  const seen = new BoundedSeen<ActionKey>(opts.dedupKeys ?? READ_DEDUP_KEYS);
  for (let i = 0; i < head.chunks.length; i++) {
    const bytes = await read(head.chunks[i]);
    if (!bytes) throw new RetraceError('CACHE_ROOT_INVALID', `key chunk ${i + 1} of ${head.chunks.length} (${head.chunks[i]}) of version root ${item} is missing`, { item, hint: 'build the version again to rewrite its root (or push it again, for a remote)' });
    const keys = decodeKeyChunk(bytes, `${item} chunk ${i + 1}`).filter((k) => seen.fresh(k));
    if (keys.length > 0) yield keys;
  }
}

/** The keys of a root one by one (a flat view of `rootKeyChunks`, e.g. for a window of workers pulling keys). */
export async function* rootKeys(read: BlobReader, root: Pick<ActionRecord, 'output'>, item: string, opts: { head?: RootHead; dedupKeys?: number } = {}): AsyncGenerator<ActionKey> {
  for await (const keys of rootKeyChunks(read, root, item, opts)) yield* keys;
}

/** A version's root in one cache. */
export interface VersionRoot {
  name: string;
  version: string;
  root: ActionRecord;
  head: RootHead;
}

/** The root of a version, or undefined if the cache has no root (or no head blob) for it. */
export async function openRoot(cache: Pick<Cache, 'getAction' | 'getBlob'>, name: string, version: string): Promise<VersionRoot | undefined> {
  const root = await cache.getAction(rootKey(name, version));
  if (!root) return undefined;
  const head = await readRootHead((h) => cache.getBlob(h), root, `${name}/${version}`);
  return head && { name, version, root, head };
}

/** One chunk of a closure: its keys, the records this cache holds, the keys it lacks, and the blobs the records need. */
export interface ClosureChunk {
  keys: ActionKey[];
  actions: Map<ActionKey, ActionRecord>;
  /** Listed keys whose record this cache no longer holds (evicted, or never stored). */
  missing: ActionKey[];
  blobs: Set<ContentHash>;
}

/** The closure of a version, a chunk of keys at a time (memory bounded by the chunk size). */
export async function* closureChunks(cache: Pick<Cache, 'getAction' | 'getBlob'>, v: VersionRoot, opts: { withRecords?: boolean; dedupKeys?: number } = {}): AsyncGenerator<ClosureChunk> {
  const item = `${v.name}/${v.version}`;
  for await (const keys of rootKeyChunks((h) => cache.getBlob(h), v.root, item, { head: v.head, dedupKeys: opts.dedupKeys })) {
    const actions = new Map<ActionKey, ActionRecord>();
    const missing: ActionKey[] = [];
    const blobs = new Set<ContentHash>();
    for (let i = 0; i < keys.length; i += 4096) {
      const batch = keys.slice(i, i + 4096);
      const recs = await Promise.all(batch.map((k) => cache.getAction(k)));
      batch.forEach((k, j) => {
        const rec = recs[j];
        if (!rec) return void missing.push(k);
        if (opts.withRecords !== false) actions.set(k, rec);
        blobs.add(rec.output);
        for (const r of rec.refs) blobs.add(r);
      });
    }
    yield { keys, actions, missing, blobs };
  }
}

/** Action keys to keep for these pinned versions (`name/id`), and the pins this cache has no root for. */
export async function pinnedKeys(cache: Cache, pins: string[]): Promise<{ keep: Set<string>; unknown: string[] }> {
  const keep = new Set<string>();
  const unknown: string[] = [];
  for (const pin of pins) {
    const [name, version] = pin.split('/');
    const v = await openRoot(cache, name, version);
    if (!v) {
      unknown.push(pin);
      continue;
    }
    keep.add(rootKey(name, version));
    // The local gc takes the kept keys as one set: it grows with the pinned versions (see README).
    for await (const keys of rootKeyChunks((h) => cache.getBlob(h), v.root, pin, { head: v.head, dedupKeys: 0 })) for (const k of keys) keep.add(k);
  }
  return { keep, unknown };
}
