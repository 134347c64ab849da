/**
 * Garbage collection on a remote that allows listing. Same policy as the local tier: keep the
 * closures of pinned versions (pins/ on the remote, plus this cache's pins), evict other
 * results older than max-age, then the oldest until the blobs still referenced fit max-size,
 * then delete blobs nothing references. A remote has no "last used" time, so age is time since
 * upload. A blob is only deleted once older than a grace period, because another machine may
 * be uploading it right now, ahead of the record that will refer to it. Builds running against
 * the remote hold leases there (remote-lease.ts): while one is live, nothing uploaded since the
 * oldest of them started is removed, whatever --max-age or --max-size say. Ages are measured on
 * the server's clock.
 */
import { RetraceError } from '../errors.ts';
import type { ContentHash } from '../hash.ts';
import type { ActionRecord } from './cache.ts';
import { readRootHead, rootBlobs, rootKeyChunks } from './closure.ts';
import { FRESH_MS } from './lease.ts';
import { liveRemoteLeases } from './remote-lease.ts';
import { actionPath, blobPath, rootPath, type RemoteCache } from './remote-cache.ts';
import type { StoredFile } from './remote-store.ts';

const GRACE_MS = 60 * 60 * 1000;
const decoder = new TextDecoder();

export interface RemoteGcReport {
  pinned: string[];
  actionsRemoved: number;
  rootsRemoved: number;
  /** Record packs of versions whose root went. */
  packsRemoved: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Builds that held a live lease on the remote while gc ran (their recent uploads were kept). */
  liveBuilds: number;
}

export async function gcRemote(remote: RemoteCache, opts: { maxAgeMs?: number; maxBytes?: number; localPins: string[] }): Promise<RemoteGcReport> {
  const store = remote.store;
  // One clock: the server's. Leases of running builds protect what they uploaded.
  const leases = await liveRemoteLeases(store, FRESH_MS);
  const now = leases.serverNow;
  const fresh = (f: StoredFile): boolean => leases.protectFrom !== undefined && f.mtimeMs >= leases.protectFrom;
  const listing = async (prefix: string): Promise<StoredFile[]> => {
    const files = await store.list(prefix);
    if (!files) {
      throw new RetraceError('REMOTE_FAILED', 'the remote cache does not allow listing, so it cannot be garbage-collected from here', {
        item: remote.location,
        hint: 'nginx: `autoindex on; autoindex_format json;` (scripts/nginx-webdav.sh sets it), or clean it with the storage\'s own lifecycle rules',
      });
    }
    return files;
  };
  const [acFiles, casFiles, rootFiles, pinFiles] = await Promise.all(['ac', 'cas', 'roots', 'pins'].map(listing));
  const pinned = [...new Set([...opts.localPins, ...pinFiles.map((f) => f.path.split('/').slice(1).join('/'))])].sort();

  // Records are read raw: gc needs their blob references whoever signed them (a pinned root
  // must never lose its closure because this machine holds another signing key).
  const raw = async (path: string): Promise<Pick<ActionRecord, 'output' | 'refs'> | undefined> => {
    try {
      const bytes = await store.get(path);
      const r = bytes && JSON.parse(decoder.decode(bytes));
      return r && typeof r.output === 'string' && Array.isArray(r.refs) ? r : undefined;
    } catch {
      return undefined;
    }
  };
  const keep = new Set<string>();
  const keepBlobs = new Set<string>();
  for (const pin of pinned) {
    const [name, id] = pin.split('/');
    const root = await raw(rootPath(name, id));
    const read = (h: ContentHash): Promise<Uint8Array | undefined> => remote.getBlob(h);
    const head = root && (await readRootHead(read, root, pin));
    if (!root || !head) continue;
    // The head and its key chunks (cache/closure.ts), read one chunk at a time.
    for (const b of rootBlobs(root, head)) keepBlobs.add(b);
    for await (const keys of rootKeyChunks(read, root, pin, { head, dedupKeys: 0 })) for (const k of keys) keep.add(k);
  }

  // An unreadable record (rec undefined) is evicted below.
  const records = new Map<string, { file: StoredFile; rec?: Pick<ActionRecord, 'output' | 'refs'> }>();
  await Promise.all(acFiles.map(async (file) => records.set(file.path.split('/').pop()!, { file, rec: await raw(file.path) })));
  const evict = new Set<string>();
  for (const [key, { file, rec }] of records) {
    if (keep.has(key) || fresh(file)) continue;
    if (!rec || (opts.maxAgeMs !== undefined && now - file.mtimeMs > opts.maxAgeMs)) evict.add(key);
  }
  const blobSize = new Map(casFiles.map((f) => [f.path.split('/').pop()!, f]));
  const rootsKept = rootFiles.filter((f) => !f.path.endsWith('/latest') && (pinned.includes(f.path.split('/').slice(1).join('/')) || opts.maxAgeMs === undefined || now - f.mtimeMs <= opts.maxAgeMs));
  const live = (): Set<string> => {
    const s = new Set<string>(keepBlobs);
    for (const [key, { rec }] of records) if (rec && !evict.has(key)) for (const b of [rec.output, ...rec.refs]) s.add(b);
    return s;
  };
  const bytesOf = (s: Set<string>): number => [...s].reduce((n, b) => n + (blobSize.get(b)?.size ?? 0), 0);
  if (opts.maxBytes !== undefined) {
    const oldest = [...records].filter(([k, { file }]) => !evict.has(k) && !keep.has(k) && !fresh(file)).sort((a, b) => a[1].file.mtimeMs - b[1].file.mtimeMs);
    const batch = Math.max(1, Math.ceil(oldest.length / 50));
    for (let i = 0; i < oldest.length && bytesOf(live()) > opts.maxBytes; i += batch) for (const [k] of oldest.slice(i, i + batch)) evict.add(k);
  }
  const keptVersions = new Set(rootsKept.map((f) => f.path.split('/').slice(1).join('/')));
  const packFiles = (await store.list('packs')) ?? [];
  // Before the records, a kept version's packs go too when they name a record removed here: a
  // warm build takes a pack's keys as the remote's word that those records are there (tiered.ts
  // hasActions), so a pack never outlives a record it lists (readers then ask record by record).
  const versionOf = (f: StoredFile): string => f.path.split('/').slice(1, 3).join('/');
  const stalePacks = new Set<string>();
  if (evict.size > 0) {
    for (const f of packFiles) {
      if (!keptVersions.has(versionOf(f)) || stalePacks.has(versionOf(f))) continue;
      if (await packNames(store, f.path, evict)) stalePacks.add(versionOf(f));
    }
  }
  await Promise.all([...stalePacks].map((v) => Promise.all(packFiles.filter((f) => versionOf(f) === v).map((f) => store.delete(f.path)))));
  // Records go before the blobs they point at, so no reader meets a record without its data.
  await Promise.all([...evict].map((k) => store.delete(actionPath(k))));
  const rootsGone = rootFiles.filter((f) => !f.path.endsWith('/latest') && !rootsKept.includes(f));
  await Promise.all(rootsGone.map((f) => store.delete(f.path)));
  const liveNow = live();
  for (const f of rootsKept) {
    const root = await raw(f.path);
    // A root's blobs: its head, and the key chunks its refs name.
    if (root) for (const b of [root.output, ...root.refs]) liveNow.add(b);
  }
  const grace = Math.min(GRACE_MS, opts.maxAgeMs ?? GRACE_MS);
  const orphans = [...blobSize.values()].filter((f) => !liveNow.has(f.path.split('/').pop()!) && now - f.mtimeMs >= grace && !fresh(f));
  await Promise.all(orphans.map((f) => store.delete(blobPath(f.path.split('/').pop()!))));
  // Packs (many records a file, written by push) of versions whose root is gone: a pack only
  // speeds up the prefetch of its version, and every entry in it is checked when read.
  const packsGone = packFiles.filter((f) => !keptVersions.has(versionOf(f)) && !fresh(f));
  await Promise.all(packsGone.map((f) => store.delete(f.path)));
  // Lease and claim files of builds gone for over a day.
  await Promise.all(leases.stale.map((f) => store.delete(f.path)));
  return {
    pinned,
    actionsRemoved: evict.size,
    rootsRemoved: rootsGone.length,
    packsRemoved: packsGone.length + packFiles.filter((f) => stalePacks.has(versionOf(f))).length,
    blobsRemoved: orphans.length,
    bytesFreed: orphans.reduce((n, f) => n + f.size, 0),
    liveBuilds: leases.live,
  };
}

/** Whether the pack at `path` lists one of `keys` (an unreadable pack counts as naming them: it goes). */
async function packNames(store: RemoteCache['store'], path: string, keys: Set<string>): Promise<boolean> {
  try {
    const bytes = await store.get(path);
    const entries = bytes && JSON.parse(decoder.decode(bytes));
    if (!Array.isArray(entries)) return true;
    return entries.some((e) => Array.isArray(e) && keys.has(e[0]));
  } catch {
    return true;
  }
}
