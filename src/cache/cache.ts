/**
 * The one cache interface the executor talks to. Two stores: an action cache (action key ->
 * small result record) and a content-addressed store (content hash -> bytes). Tiers (the local
 * LMDB store, later remote stores) sit behind this interface; stages never see it.
 */
import type { ActionKey, ContentHash, RecordKey } from '../hash.ts';
import type { KeyParts } from '../key.ts';

export interface ActionRecord {
  /** Record layout version, so an old cache is read or ignored deliberately. */
  format: 1;
  stage: string;
  /** Human-readable item id (repository, path, document): for explain and error messages. */
  item: string;
  /** Hash of the encoded output. Early cutoff compares these across re-runs. */
  output: ContentHash;
  /** Other blobs the output refers to (file contents, token arrays); a hit needs them all. */
  refs: ContentHash[];
  /**
   * Byte size of the output and of each ref (issue 19): a reader of a shared remote fetches no
   * more than this for each blob the record names. Absent in records written before it.
   */
  sizes?: Record<string, number>;
  /** The key's parts, recorded so `explain` can diff them. */
  parts: KeyParts;
  /** Time spent computing, in ms. */
  ms: number;
  createdAt: number;
  /** Refreshed (coarsely) on use: garbage collection by age evicts what no build used lately. */
  usedAt: number;
}

/** What the last builds recorded for one stage item: its current key and the one before. */
export interface ItemState {
  /** Item-state layout version (absent in states written before issue 18: same shape). */
  format?: 1;
  stage: string;
  item: string;
  key: ActionKey;
  parts: KeyParts;
  output: ContentHash;
  builtAt: number;
  previous?: { key: ActionKey; parts: KeyParts; output: ContentHash; builtAt: number };
}

export interface CacheStats {
  actions: number;
  blobs: number;
  blobBytes: number;
  items: number;
  fileBytes: number;
  byStage: Record<string, number>;
}

/**
 * Claims on action keys across processes sharing a cache (cache/lease.ts): held while an item of
 * a claiming stage is computed, so another build waits for its record instead of computing it.
 */
export interface Claims {
  /** Take the claim, waiting while another live build holds it ('waited': look the key up again). */
  claim(key: ActionKey, signal?: AbortSignal): Promise<'mine' | 'waited'>;
  release(key: ActionKey): Promise<void>;
}

export interface Cache {
  /** Present when this process is a running build on a local cache: in-flight claims of calls. */
  readonly claims?: Claims;
  /** A stage result by its action key, or an engine record (version root) by its record key. */
  getAction(key: ActionKey | RecordKey, at?: ReadFor): Promise<ActionRecord | undefined>;
  putAction(key: ActionKey | RecordKey, record: ActionRecord): Promise<void>;
  /** Verified read: the bytes are re-hashed; a mismatching blob is dropped and reported missing. */
  getBlob(hash: ContentHash, at?: ReadFor): Promise<Uint8Array | undefined>;
  hasBlob(hash: ContentHash): Promise<boolean>;
  /**
   * Whether every one of these action records is present, without reading them (a memo's hit
   * checks its chain's keys: Executor.memo). Without it, the executor reads each record.
   */
  hasActions?(keys: readonly ActionKey[]): Promise<boolean>;
  /**
   * hasActions for a memo whose chain is due a fresh stamp: the records held here are read,
   * which stamps them used (gc by age); records a tier leaves elsewhere are only checked there
   * (tiered.ts). Without it, the executor reads each record.
   */
  touchActions?(keys: readonly ActionKey[]): Promise<boolean>;
  /**
   * Whether every ref of a hit's record can be read when a stage asks for it. Without this, a
   * hit reads every ref back (re-hashed); a tier that fetches blobs on read (tiered.ts) answers
   * it without the bytes, so a hit downloads only the blobs a stage goes on to read.
   */
  refsAvailable?(record: ActionRecord, at?: ReadFor): Promise<boolean>;
  /**
   * A token that changes whenever anything removes records or blobs here (gc, a dropped damaged
   * entry, a repair; a salvaged environment starts without one), or undefined when it cannot
   * vouch (none yet, a damaged environment, a tier whose other side removes on its own). Equal
   * tokens at a memo's start and at a later hit mean nothing the memo named can have gone, so
   * the hit skips checking each of its keys and refs (Executor.memo).
   */
  removalMark?(): string | undefined;
  putBlob(bytes: Uint8Array): Promise<ContentHash>;
  getItem(stage: string, item: string): Promise<ItemState | undefined>;
  recordItem(state: Omit<ItemState, 'previous'>): Promise<void>;
  close(): Promise<void>;
}

/** The three databases of the local tier. */
export type StoreName = 'actions' | 'blobs' | 'items';

/** A cache entry that failed its check on read and was dropped (then recomputed). */
export interface DropEvent {
  store: StoreName;
  /** Action key, content hash, or "stage\0item". */
  key: string;
  /** The stage whose read found it ('unknown' outside any stage's lookup). */
  stage: string;
  item?: string;
  reason: string;
}

/**
 * Which stage item a cache read serves: the executor passes it with its lookups, and every tier
 * passes it on, so the store can name the stage in a CACHE_ENTRY_DROPPED warning. (Passed, not
 * kept in an AsyncLocalStorage: that turns on a promise hook for every promise of the process,
 * ~1.2 s of a 200-package build's main thread.)
 */
export interface ReadFor {
  stage: string;
  item: string;
}
