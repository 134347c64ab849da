/**
 * A remote store is a dumb file store addressed by relative paths (`cas/ab/<hash>`): it knows
 * nothing about blobs, records or trust, which live one level up (remote-cache.ts). Two kinds:
 * HTTP (any server that takes GET/HEAD/PUT/DELETE, e.g. nginx WebDAV) and a shared directory
 * (`file://`, e.g. an NFS mount) of files written atomically.
 */
import { fileURLToPath } from 'node:url';
import { RetraceError } from '../errors.ts';
import { HttpStore } from './remote-http.ts';
import { DirStore } from './remote-dir.ts';

export interface StoredFile {
  /** Relative to the store's base, e.g. `cas/ab/ab12...`. */
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * Bounds on what one read may take (issue 19): a writer of a shared store, or a bad server, must
 * not hang or exhaust its readers. A read over `maxBytes`, of anything but a regular file inside
 * the store, or not done within the store's timeout throws REMOTE_ENTRY_REFUSED (the caller
 * reports the entry and treats it as a miss).
 */
export interface ReadLimits {
  maxBytes: number;
}

/** Reads of records, `latest` pointers and listings: small JSON. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** A blob whose size no record states (records written before sizes were recorded, key lists). */
export const MAX_UNSIZED_BLOB_BYTES = 1024 * 1024 * 1024;

export interface RemoteStore {
  /** Where the store is, for messages (never holds a credential). */
  readonly location: string;
  /** The file's bytes, undefined when absent; throws REMOTE_ENTRY_REFUSED past the limits. */
  get(path: string, limits?: ReadLimits): Promise<Uint8Array | undefined>;
  /**
   * Whether the file is there (for a shared directory: a regular file inside the store, of `size`
   * bytes when given; over HTTP, of the Content-Length HEAD declares).
   */
  has(path: string, size?: number): Promise<boolean>;
  /** Replaces the file atomically: a reader sees the old bytes or the new ones, never a mix. */
  put(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * Writes the file only if absent, atomically (true when this call made it). Stores that cannot
   * (plain HTTP) leave it out, and callers put then read back.
   */
  create?(path: string, bytes: Uint8Array): Promise<boolean>;
  delete(path: string): Promise<void>;
  /** Every file under a folder, recursively; undefined when the store does not allow listing. */
  list(prefix: string): Promise<StoredFile[] | undefined>;
}

export interface StoreOptions {
  /** Bearer token (HTTP only). */
  token?: string;
  timeoutMs?: number;
  maxConcurrency?: number;
  maxRetries?: number;
}

export function refused(location: string, path: string, why: string): RetraceError {
  return new RetraceError('REMOTE_ENTRY_REFUSED', `remote entry ${path} refused: ${why}`, {
    item: `${location}/${path}`,
    hint: 'a writer of the shared cache (or the server) put something there that is not a cache file; it is ignored and recomputed. Sign the cache (cache.remote.signingKeyEnv) and restrict who can write it',
  });
}

export function openRemoteStore(url: string, opts: StoreOptions = {}): RemoteStore {
  if (/^https?:\/\//i.test(url)) return new HttpStore(url, opts);
  if (/^file:\/\//i.test(url)) return new DirStore(fileURLToPath(url), { timeoutMs: opts.timeoutMs });
  throw new RetraceError('CONFIG_INVALID', `cannot use remote cache URL "${url}"`, {
    item: 'cache.remote.url',
    hint: 'use http(s)://host/path for a WebDAV server or file:///absolute/path for a shared directory',
  });
}
