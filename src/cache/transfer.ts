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
import { BoundedSeen, closureChunks, decodeRootHead, openRoot, READ_DEDUP_KEYS, rootBlobs, rootKey, rootKeyChunks } from './closure.ts';
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

/**
 * Both directions walk the root a chunk of keys at a time (cache/closure.ts), so memory stays
 * bounded by the chunk size whatever the version's size. Blobs shared by records of different
 * chunks are checked once (up to READ_DEDUP_KEYS of them; past that, a repeat is checked again).
 */
export async function pushVersion(local: Cache, remote: RemoteCache, name: string, version: string): Promise<TransferReport> {
  const t0 = performance.now();
  const v = await openRoot(local, name, version);
  if (!v) {
    throw new RetraceError('DATASET_NOT_FOUND', `this cache has no record of what built ${name}/${version}`, {
      item: `${name}/${version}`,
      hint: 'build that version with this cache (`retrace build`), then push',
    });
  }
  const incomplete = (n: number): RetraceError =>
    new RetraceError('CACHE_CLOSURE_INCOMPLETE', `${n} result(s) of ${name}/${version} are neither in this cache (garbage-collected?) nor on ${remote.location}`, {
      item: `${name}/${version}`,
      hint: 'build the version again (only those are recomputed), then push; `retrace dataset pin` keeps a version through gc; a version built warm from another remote: `retrace cache pull` it from there first',
    });
  // A warm build from this remote leaves on it the records a memo answered without reading
  // (tiered.ts hasActions): a record this cache lacks is fine when the remote has it (with its
  // blobs, which went before it); its packs entry is read back from the remote (checked).
  const notOnRemote = async (keys: ActionKey[]): Promise<number> => (await filterAsync(keys, async (k) => !(await remote.hasAction(k)))).length;
  // A first pass (records read, not kept) refuses an incomplete closure before anything is sent.
  let missing = 0;
  for await (const chunk of closureChunks(local, v, { withRecords: false })) if (chunk.missing.length > 0) missing += await notOnRemote(chunk.missing);
  if (missing > 0) throw incomplete(missing);
  const before = { ...remote.counters };
  const seen = new BoundedSeen<ContentHash>(READ_DEDUP_KEYS);
  let blobs = 0;
  const sendBlobs = async (hashes: Iterable<ContentHash>): Promise<void> => {
    const fresh = [...hashes].filter((h) => seen.fresh(h));
    blobs += fresh.length;
    await inChunks(await remote.missingBlobs(fresh), async (h) => {
      const bytes = await local.getBlob(h);
      if (!bytes) throw new RetraceError('CACHE_BLOB_MISSING', `blob ${h} of ${name}/${version} is missing or damaged in this cache`, { item: h, hint: 'run `retrace cache verify --repair`, build again, then push' });
      await remote.putBlob(h, bytes);
    });
  };
  let actions = 0;
  let actionsMoved = 0;
  // The version's records in packs too (remote-cache.ts): a reader's prefetch gets them in a few requests.
  const packs = await remote.packWriter(name, version, local);
  for await (const chunk of closureChunks(local, v)) {
    // Records only on the remote (see above): nothing to send; their packs entries are read back from it.
    const elsewhere = new Set(chunk.missing);
    if (elsewhere.size > 0) {
      let gone = 0;
      await inChunks(chunk.missing, async (k) => {
        const rec = packs ? await remote.getAction(k) : (await remote.hasAction(k)) || undefined;
        if (!rec) gone++;
        else if (rec !== true) chunk.actions.set(k, rec);
      });
      if (gone > 0) throw incomplete(gone);
    }
    // Blobs first, records after: a reader never finds a record whose blobs are not there yet.
    await sendBlobs(chunk.blobs);
    const missingActions = await filterAsync(chunk.keys, async (k) => !elsewhere.has(k) && !(await remote.hasAction(k)));
    await inChunks(missingActions, (k) => remote.putAction(k, chunk.actions.get(k)!, local));
    await packs?.add(chunk.keys.map((k) => [k, chunk.actions.get(k)!]));
    actions += chunk.keys.length;
    actionsMoved += missingActions.length;
  }
  await packs?.close();
  // The root's head and key chunks, then the root itself, last.
  await sendBlobs(rootBlobs(v.root, v.head));
  await remote.putRoot(name, version, v.root);
  return {
    version: `${name}/${version}`,
    actions,
    actionsMoved,
    blobs,
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
  const headBytes = (await fetchBlob(root.output)) ? await local.getBlob(root.output) : undefined;
  if (!headBytes) {
    throw new RetraceError('CACHE_ROOT_INVALID', `the key list of ${name}/${id} is missing or damaged on the remote`, { item: remote.location, hint: 'push the version again' });
  }
  const head = decodeRootHead(headBytes, `${name}/${id}`);
  const seen = new BoundedSeen<ContentHash>(READ_DEDUP_KEYS);
  let blobs = 1;
  let actions = 0;
  let wantedCount = 0;
  let stored = 0;
  // A chunk of keys is fetched (re-hashed) into this cache when the walk reaches it.
  const readChunk = async (h: ContentHash): Promise<Uint8Array | undefined> => {
    blobs++;
    return (await fetchBlob(h)) ? local.getBlob(h) : undefined;
  };
  for await (const keys of rootKeyChunks(readChunk, root, `${remote.location} ${name}/${id}`, { head })) {
    actions += keys.length;
    const wanted = await filterAsync(keys, async (k) => (await local.getAction(k)) === undefined);
    wantedCount += wanted.length;
    const records = new Map<ActionKey, ActionRecord>();
    await inChunks(wanted, async (k) => {
      const rec = await remote.getAction(k);
      if (rec) records.set(k, rec);
    });
    const need = new Set<ContentHash>();
    for (const rec of records.values()) for (const h of [rec.output, ...rec.refs]) need.add(h);
    const have = new Set<ContentHash>();
    await inChunks([...need], async (h) => {
      if (seen.fresh(h)) blobs++;
      if (await fetchBlob(h)) have.add(h);
    });
    const now = Date.now();
    const complete = [...records].filter(([, rec]) => [rec.output, ...rec.refs].every((h) => have.has(h)));
    // Written together: the local store commits concurrent writes in one transaction.
    await Promise.all(complete.map(([k, rec]) => local.putAction(k, { ...rec, usedAt: now })));
    stored += complete.length;
  }
  await local.putAction(rootKey(name, id), { ...root, usedAt: Date.now() });
  return {
    version: `${name}/${id}`,
    actions,
    actionsMoved: stored,
    blobs,
    blobsMoved: remote.counters.blobsFetched - before.blobsFetched,
    bytesMoved,
    unavailable: wantedCount - stored,
    ms: Math.round(performance.now() - t0),
  };
}

/** Run `fn` over the items concurrently (the store bounds requests), a chunk at a time. */
async function inChunks<T>(items: T[], fn: (x: T) => Promise<void>, chunk = 4096): Promise<void> {
  for (let i = 0; i < items.length; i += chunk) await Promise.all(items.slice(i, i + chunk).map(fn));
}
