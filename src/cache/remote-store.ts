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

export interface RemoteStore {
  /** Where the store is, for messages (never holds a credential). */
  readonly location: string;
  get(path: string): Promise<Uint8Array | undefined>;
  has(path: string): Promise<boolean>;
  /** Replaces the file atomically: a reader sees the old bytes or the new ones, never a mix. */
  put(path: string, bytes: Uint8Array): Promise<void>;
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

export function openRemoteStore(url: string, opts: StoreOptions = {}): RemoteStore {
  if (/^https?:\/\//i.test(url)) return new HttpStore(url, opts);
  if (/^file:\/\//i.test(url)) return new DirStore(fileURLToPath(url));
  throw new RetraceError('CONFIG_INVALID', `cannot use remote cache URL "${url}"`, {
    item: 'cache.remote.url',
    hint: 'use http(s)://host/path for a WebDAV server or file:///absolute/path for a shared directory',
  });
}
