/**
 * What a stage is, as the engine sees it: a name, a version, the stages it reads from, and a
 * function from one item's input to one output. The stage declares which parts of its input and
 * which settings can change its output (its key); the engine does the caching. Stages never see
 * the cache's storage, only blobs by content hash through their context.
 */
import type { ContentHash } from './hash.ts';
import type { TaskPool } from './pool.ts';
import type { Executor } from './executor.ts';

export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export interface StageKey {
  /** Content-derived identities of the item's inputs, in a fixed order the stage chooses. */
  inputs: Record<string, string>;
  /** Only the settings that can change this output. */
  settings: Record<string, unknown>;
}

export interface StageContext {
  /** The item being computed (for messages). */
  readonly item: string;
  /** Store bytes by content; the hash is recorded as a reference of this item's result. */
  putBlob(bytes: Uint8Array): Promise<ContentHash>;
  /** Read bytes by content hash (verified); throws CACHE_BLOB_MISSING if missing. */
  getBlob(hash: ContentHash): Promise<Uint8Array>;
  /** Worker threads for CPU-heavy work. */
  readonly pool: TaskPool;
  /** Aborted when the build is stopping (e.g. a token budget was reached). */
  readonly signal: AbortSignal;
  /**
   * A memo stage's run (`memo: true`, Executor.memo) only: the executor its chain must run its
   * items through. Their keys, counts, tallies and failures then belong to the memo (and to any
   * memo around it); an item run through another executor is not part of the memo.
   */
  readonly exec?: Executor;
}

export interface StageDef<I, O> {
  readonly name: string;
  /** Bump when the code changes what the stage produces for the same key. */
  readonly version: string;
  /** Stages whose outputs this stage consumes: the DAG, as documented and shown by `status`. */
  readonly deps: readonly string[];
  /** One-line description for `--help`, `status` and ARCHITECTURE.md. */
  readonly description: string;
  /** The item id: `repo`, `repo:path`, `shard-00001`... Stable across builds. */
  item(input: I): string;
  key(input: I): StageKey;
  run(input: I, ctx: StageContext): Promise<O>;
  /**
   * Claim a miss's key in the cache before computing it (costly calls, e.g. LLM requests): a
   * concurrent build that misses the same key waits for this one's result instead of paying again.
   * A function decides per input (e.g. only calls that cost money).
   */
  readonly claim?: boolean | ((input: I) => boolean);
  /**
   * A memo: it saves recomputing what other stages (or a worker task) give, and changes no
   * output. A pipeline leaves memos out of what pins a version (their versions are not part of it).
   */
  readonly memo?: boolean;
  /**
   * For a chain run through Executor.memo: the blobs its value names that later stages read
   * (for Retrace, a repository's documents). They are the memo record's refs, so a hit checks
   * them as any hit checks its refs (read back, or known to exist on a remote), where the
   * chain's own records are only checked to exist (Cache.hasActions).
   */
  valueRefs?(output: O): ContentHash[];
  /** How the output is stored; JSON by default. */
  readonly codec?: Codec<O>;
}

export function defineStage<I, O>(def: StageDef<I, O>): StageDef<I, O> {
  return def;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (v) => enc.encode(JSON.stringify(v)),
    decode: (b) => JSON.parse(dec.decode(b)) as T,
  };
}
