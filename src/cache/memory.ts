/**
 * An in-memory `Cache`, for unit tests of the engine. Same semantics as the LMDB store: every
 * blob read re-hashes the bytes and drops a damaged blob (reported missing, so it is recomputed),
 * bytes are copied in and out (a caller mutating its buffer never changes the store), and
 * `recordItem` keeps the previous distinct key of an item as `previous`. Nothing is persisted.
 */
import { hashBytes, type ContentHash } from '../hash.ts';
import type { ActionRecord, Cache, ItemState } from './cache.ts';

/** Whatever the interface keys action records by (action keys, and any record keys it allows). */
type RecordKeyOf = Parameters<Cache['putAction']>[0];

export class MemoryCache implements Cache {
  readonly actions = new Map<RecordKeyOf, ActionRecord>();
  readonly blobs = new Map<ContentHash, Uint8Array>();
  readonly items = new Map<string, ItemState>();
  /** Blobs found damaged on read (and dropped), as LmdbCache reports them. */
  readonly corruptSeen: ContentHash[] = [];
  /** Calls per method, so tests can check what the executor asked for. */
  readonly calls = { getAction: 0, putAction: 0, getBlob: 0, putBlob: 0, recordItem: 0 };
  private closed = false;

  private open(): void {
    if (this.closed) throw new Error('MemoryCache used after close()');
  }

  async getAction(key: RecordKeyOf): Promise<ActionRecord | undefined> {
    this.open();
    this.calls.getAction++;
    const rec = this.actions.get(key);
    if (!rec || rec.format !== 1) return undefined;
    return structuredClone(rec);
  }

  async putAction(key: RecordKeyOf, record: ActionRecord): Promise<void> {
    this.open();
    this.calls.putAction++;
    this.actions.set(key, structuredClone(record));
  }

  async getBlob(hash: ContentHash): Promise<Uint8Array | undefined> {
    this.open();
    this.calls.getBlob++;
    const bytes = this.blobs.get(hash);
    if (!bytes) return undefined;
    if (hashBytes(bytes) !== hash) {
      this.corruptSeen.push(hash);
      this.blobs.delete(hash);
      return undefined;
    }
    return bytes.slice();
  }

  async hasBlob(hash: ContentHash): Promise<boolean> {
    this.open();
    return this.blobs.has(hash);
  }

  async putBlob(bytes: Uint8Array): Promise<ContentHash> {
    this.open();
    this.calls.putBlob++;
    const hash = hashBytes(bytes);
    if (!this.blobs.has(hash)) this.blobs.set(hash, bytes.slice());
    return hash;
  }

  async getItem(stage: string, item: string): Promise<ItemState | undefined> {
    this.open();
    const s = this.items.get(stage + '\0' + item);
    return s && structuredClone(s);
  }

  async recordItem(state: Omit<ItemState, 'previous'>): Promise<void> {
    this.open();
    this.calls.recordItem++;
    const id = state.stage + '\0' + state.item;
    const old = this.items.get(id);
    if (old && old.key === state.key) return;
    const previous = old ? { key: old.key, parts: old.parts, output: old.output, builtAt: old.builtAt } : undefined;
    this.items.set(id, structuredClone({ ...state, previous }));
  }

  /** Damage a stored blob in place (flip one bit), as a disk fault would. For tests. */
  corrupt(hash: ContentHash, at = 0): void {
    const bytes = this.blobs.get(hash);
    if (!bytes || bytes.length === 0) throw new Error(`no blob ${hash} to corrupt`);
    bytes[at % bytes.length] ^= 0x01;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
