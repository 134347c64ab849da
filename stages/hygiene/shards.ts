/**
 * A Map split over SHARDS Maps by a key's hash bits, for the corpus-wide indexes of the hygiene
 * decisions (every kept file's content hash; the LSH buckets): one V8 Map holds at most 2^24
 * entries (RangeError: Map maximum size exceeded), which exact dedup passes at ~17M kept files
 * and near dedup's buckets (16 per file) at ~1M files (issue 17: builds that reach 1M
 * repositories). Memory still grows with the corpus: ~150 bytes per kept file for exact dedup.
 */
const SHARDS = 64;

export class ShardedMap<K, V> {
  private readonly shards: Map<K, V>[] = Array.from({ length: SHARDS }, () => new Map<K, V>());

  /** `shardOf(key)` spreads keys over the shards (any integer; only its low bits are used). */
  constructor(private readonly shardOf: (key: K) => number) {}

  private shard(key: K): Map<K, V> {
    return this.shards[this.shardOf(key) & (SHARDS - 1)]!;
  }

  get(key: K): V | undefined {
    return this.shard(key).get(key);
  }

  set(key: K, value: V): this {
    this.shard(key).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.shard(key).delete(key);
  }
}

/** The shard of a content hash (hex): its last two hex digits. */
export const hexShard = (hash: string): number => parseInt(hash.slice(-2), 16);
