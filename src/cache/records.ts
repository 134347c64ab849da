/**
 * Records the engine keeps beside stage results: the completion markers of scale-out partitions,
 * version roots. Each is a JSON value stored as a
 * blob and pointed at by a record under its own key, written here and nowhere else (stage results
 * are written only by the executor). Reads are checked: a record whose value is missing or does
 * not decode is a miss.
 */
import type { ActionKey, RecordKey } from '../hash.ts';
import type { KeyParts } from '../key.ts';
import type { Cache } from './cache.ts';
import { jsonBytes, parseJsonBytes } from '../json-stream.ts';

export interface EngineRecord<T> {
  /** What kind of record (`partition`, `version`, `remote-bad`): recorded as its stage. */
  kind: string;
  item: string;
  parts: KeyParts;
  value: T;
  ms?: number;
}

export async function putEngineRecord<T>(cache: Cache, key: ActionKey | RecordKey, rec: EngineRecord<T>): Promise<void> {
  const output = await cache.putBlob(jsonBytes(rec.value));
  const now = Date.now();
  // The blob is committed before the record that points at it.
  await cache.putAction(key, { format: 1, stage: rec.kind, item: rec.item, output, refs: [], parts: rec.parts, ms: Math.round(rec.ms ?? 0), createdAt: now, usedAt: now });
}

/** The value of an engine record, or undefined when it is absent, its blob is gone or it does not decode. */
export async function getEngineRecord<T>(cache: Cache, key: ActionKey | RecordKey): Promise<T | undefined> {
  const rec = await cache.getAction(key);
  const bytes = rec && (await cache.getBlob(rec.output));
  if (!bytes) return undefined;
  try {
    return parseJsonBytes(bytes) as T;
  } catch {
    return undefined;
  }
}
