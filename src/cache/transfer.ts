/**
 * Moving a version's closure between the local cache and a remote in bulk. Push asks the
 * remote which blobs and records it lacks (existence checks in parallel, bounded by the store)
 * and sends only those, then the root; pull fetches the root, the records this cache lacks and
 * their missing blobs, each blob re-hashed and each record checked against the trust settings
 * before it is stored. A record whose blobs cannot all be had is not stored (it will be computed).
 */
import { RetraceError } from '../errors.ts';
import type { ActionKey, ContentHash } from '../hash.ts';
import type { ActionRecord, Cache } from './cache.ts';
import { closureOf, decodeKeyList, rootKey } from './closure.ts';
import { filterAsync, type RemoteCache } from './remote-cache.ts';

export interface TransferReport {
  version: string;
  actions: number;
  /** Records sent (push) or stored locally (pull); the rest were already there. */
  actionsMoved: number;
  blobs: number;
  blobsMoved: number;
  bytesMoved: number;
  /** Pull: records left out because the remote lacked one of their blobs or did not pass the trust check. */
  unavailable: number;
  ms: number;
}

export async function pushVersion(local: Cache, remote: RemoteCache, name: string, version: string): Promise<TransferReport> {
  const t0 = performance.now();
  const closure = await closureOf(local, name, version);
  if (!closure) {
    throw new RetraceError('DATASET_NOT_FOUND', `this cache has no record of what built ${name}/${version}`, {
      item: `${name}/${version}`,
      hint: 'build that version with this cache (`retrace build`), then push',
    });
  }
  if (closure.missing.length > 0) {
    throw new RetraceError('CACHE_CLOSURE_INCOMPLETE', `${closure.missing.length} result(s) of ${name}/${version} are no longer in this cache (garbage-collected?)`, {
      item: `${name}/${version}`,
      hint: 'build the version again (only those are recomputed), then push; `retrace dataset pin` keeps a version through gc',
    });
  }
  const before = { ...remote.counters };
  const missingBlobs = await remote.missingBlobs(closure.blobs);
  await inChunks(missingBlobs, async (h) => {
    const bytes = await local.getBlob(h);
    if (!bytes) throw new RetraceError('CACHE_BLOB_MISSING', `blob ${h} of ${name}/${version} is missing or damaged in this cache`, { item: h, hint: 'run `retrace cache verify --repair`, build again, then push' });
    await remote.putBlob(h, bytes);
  });
  // Blobs first, records after: a reader never finds a record whose blobs are not there yet.
  const missingActions = await filterAsync(closure.keys, async (k) => !(await remote.hasAction(k)));
  await inChunks(missingActions, (k) => remote.putAction(k, closure.actions.get(k)!, local));
  await remote.putPacks(name, version, closure.keys.map((k) => [k, closure.actions.get(k)!]), local);
  await remote.putRoot(name, version, closure.root);
  return {
    version: `${name}/${version}`,
    actions: closure.keys.length,
    actionsMoved: missingActions.length,
    blobs: closure.blobs.size,
    blobsMoved: remote.counters.blobsSent - before.blobsSent,
    bytesMoved: remote.counters.bytesSent - before.bytesSent,
    unavailable: 0,
    ms: Math.round(performance.now() - t0),
  };
}

/** `version` may be an id or 'latest' (the id last pushed for `name`). */
export async function pullVersion(remote: RemoteCache, local: Cache, name: string, version: string): Promise<TransferReport> {
  const t0 = performance.now();
  const id = version === 'latest' ? await remote.latest(name) : version;
  const root = id && (await remote.getRoot(name, id));
  if (!id || !root) {
    throw new RetraceError('DATASET_NOT_FOUND', `the remote cache has no version ${name}/${version}${id && id !== version ? ` (${id})` : ''}`, {
      item: `${remote.location} ${name}/${version}`,
      hint: 'push it from the machine that built it (`retrace cache push`)',
    });
  }
  const before = { ...remote.counters };
  let bytesMoved = 0;
  const fetchBlob = async (h: ContentHash): Promise<boolean> => {
    if (await local.hasBlob(h)) return true;
    const bytes = await remote.getBlob(h);
    if (!bytes) return false;
    await local.putBlob(bytes);
    bytesMoved += bytes.byteLength;
    return true;
  };
  if (!(await fetchBlob(root.output))) {
    throw new RetraceError('CACHE_ROOT_INVALID', `the key list of ${name}/${id} is missing or damaged on the remote`, { item: remote.location, hint: 'push the version again' });
  }
  const keys = decodeKeyList((await local.getBlob(root.output))!, `${name}/${id}`);
  const wanted = await filterAsync(keys, async (k) => (await local.getAction(k)) === undefined);
  const records = new Map<ActionKey, ActionRecord>();
  await inChunks(wanted, async (k) => {
    const rec = await remote.getAction(k);
    if (rec) records.set(k, rec);
  });
  const blobs = new Set<ContentHash>();
  for (const rec of records.values()) for (const h of [rec.output, ...rec.refs]) blobs.add(h);
  const have = new Set<ContentHash>();
  await inChunks([...blobs], async (h) => {
    if (await fetchBlob(h)) have.add(h);
  });
  const now = Date.now();
  const complete = [...records].filter(([, rec]) => [rec.output, ...rec.refs].every((h) => have.has(h)));
  // Written together: the local store commits concurrent writes in one transaction.
  await Promise.all(complete.map(([k, rec]) => local.putAction(k, { ...rec, usedAt: now })));
  const stored = complete.length;
  await local.putAction(rootKey(name, id), { ...root, usedAt: now });
  return {
    version: `${name}/${id}`,
    actions: keys.length,
    actionsMoved: stored,
    blobs: blobs.size + 1,
    blobsMoved: remote.counters.blobsFetched - before.blobsFetched,
    bytesMoved,
    unavailable: wanted.length - stored,
    ms: Math.round(performance.now() - t0),
  };
}

/** Run `fn` over the items concurrently (the store bounds requests), a chunk at a time. */
async function inChunks<T>(items: T[], fn: (x: T) => Promise<void>, chunk = 4096): Promise<void> {
  for (let i = 0; i < items.length; i += chunk) await Promise.all(items.slice(i, i + chunk).map(fn));
}
