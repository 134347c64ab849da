/**
 * Version roots and closures. A build records every action key it answered or computed as a
 * blob (a sorted JSON list), pointed at by a small "version root" record stored in the action
 * store under `version:<name>/<id>`. From a root one reaches every action record of the version
 * and every blob those records need (output and refs): the closure, which is what push, pull,
 * export and garbage collection of pinned versions walk. With the closure present, a build of
 * the same config computes nothing.
 */
import { RetraceError } from '../errors.ts';
import type { ActionKey, ContentHash, RecordKey } from '../hash.ts';
import type { ActionRecord, Cache } from './cache.ts';
import { rootAddress } from './remote-cache.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const rootKey = (name: string, version: string): RecordKey => rootAddress(name, version) as RecordKey;

/** Store the root of a built version (written again on every build of it, which keeps it fresh). */
export async function recordRoot(cache: Cache, name: string, version: string, keys: Iterable<ActionKey>): Promise<void> {
  const list = [...new Set(keys)].sort();
  const output = await cache.putBlob(encoder.encode(JSON.stringify(list)));
  const now = Date.now();
  await cache.putAction(rootKey(name, version), {
    format: 1,
    stage: 'version',
    item: `${name}/${version}`,
    output,
    refs: [],
    parts: { stage: 'version', version: '1', inputs: { keys: output }, settings: {} },
    ms: 0,
    createdAt: now,
    usedAt: now,
  });
}

/** The action keys a root lists, from the bytes of its key-list blob. */
export function decodeKeyList(bytes: Uint8Array, item: string): ActionKey[] {
  try {
    const list = JSON.parse(decoder.decode(bytes));
    if (Array.isArray(list) && list.every((k) => typeof k === 'string')) return list as ActionKey[];
  } catch {
    // reported below
  }
  throw new RetraceError('CACHE_ROOT_INVALID', 'the key list of this version root is not a JSON list of keys', { item, hint: 'build the version again to rewrite its root' });
}

export interface Closure {
  name: string;
  version: string;
  root: ActionRecord;
  keys: ActionKey[];
  actions: Map<ActionKey, ActionRecord>;
  /** Every blob needed: outputs, refs, and the root's own key list. */
  blobs: Set<ContentHash>;
  /** Listed keys whose record this cache no longer holds (evicted, or never stored). */
  missing: ActionKey[];
}

/** The closure of a version in one cache, or undefined if the cache has no root for it. */
export async function closureOf(cache: Cache, name: string, version: string): Promise<Closure | undefined> {
  const root = await cache.getAction(rootKey(name, version));
  if (!root) return undefined;
  const listBytes = await cache.getBlob(root.output);
  if (!listBytes) return undefined;
  const keys = decodeKeyList(listBytes, `${name}/${version}`);
  const actions = new Map<ActionKey, ActionRecord>();
  const blobs = new Set<ContentHash>([root.output]);
  const missing: ActionKey[] = [];
  for (const key of keys) {
    const rec = await cache.getAction(key);
    if (!rec) {
      missing.push(key);
      continue;
    }
    actions.set(key, rec);
    blobs.add(rec.output);
    for (const r of rec.refs) blobs.add(r);
  }
  return { name, version, root, keys, actions, blobs, missing };
}

/** Action keys to keep for these pinned versions (`name/id`), and the pins this cache has no root for. */
export async function pinnedKeys(cache: Cache, pins: string[]): Promise<{ keep: Set<string>; unknown: string[] }> {
  const keep = new Set<string>();
  const unknown: string[] = [];
  for (const pin of pins) {
    const [name, version] = pin.split('/');
    const root = await cache.getAction(rootKey(name, version));
    const list = root && (await cache.getBlob(root.output));
    if (!root || !list) {
      unknown.push(pin);
      continue;
    }
    keep.add(rootKey(name, version));
    for (const k of decodeKeyList(list, pin)) keep.add(k);
  }
  return { keep, unknown };
}
