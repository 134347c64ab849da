/**
 * Reading a built version back: its shard rows (Parquet through parquet-wasm, Arrow IPC through
 * apache-arrow), decoded to text with the exact tokenizer, and split into trained / loss-masked
 * spans. `retrace dataset head`, `retrace view` and `retrace report` read versions through here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RetraceError } from '../../src/errors.ts';
import type { VersionInfo } from '../../src/dataset.ts';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from '../tokenize/llama3.ts';

/** One row of either layout, list columns as typed arrays. */
export interface ShardRow {
  shard: string;
  row: number;
  inputIds: Int32Array;
  lossMask: Uint8Array;
  /** documents layout */
  id?: string;
  repo?: string;
  text?: string;
  /** packed layout */
  docIds?: string[];
  docLengths?: Int32Array;
}

/** A run of consecutive tokens with the same loss mask, decoded. */
export interface Span {
  text: string;
  trained: boolean;
}

async function tableOf(file: string): Promise<import('apache-arrow').Table> {
  const arrow = await import('apache-arrow');
  const bytes = readFileSync(file);
  if (file.endsWith('.parquet')) {
    const pw = await import('parquet-wasm');
    return arrow.tableFromIPC(pw.readParquet(bytes).intoIPCStream());
  }
  return arrow.tableFromIPC(bytes);
}

const toArray = (v: unknown): ArrayLike<number> | undefined => (v as { toArray(): ArrayLike<number> } | null | undefined)?.toArray();
const ints = (v: unknown): Int32Array => {
  const a = toArray(v);
  return a instanceof Int32Array ? a : Int32Array.from(a ?? []);
};
const bytes = (v: unknown): Uint8Array => {
  const a = toArray(v);
  return a instanceof Uint8Array ? a : Uint8Array.from(a ?? []);
};

/** Rows of a version in order, at most `limit` (every row when undefined). */
export async function readRows(v: VersionInfo, limit?: number): Promise<ShardRow[]> {
  const out: ShardRow[] = [];
  for (const s of v.manifest.shards) {
    if (limit !== undefined && out.length >= limit) break;
    let table;
    try {
      table = await tableOf(join(v.path, s.file));
    } catch (err) {
      throw new RetraceError('DATASET_CORRUPT', `cannot read shard: ${(err as Error).message}`, { item: join(v.path, s.file), hint: 'run `retrace dataset verify` and build again to repair it' });
    }
    // Column by column: a list cell's toArray() is a view of the column's buffer, no copy per value.
    const col = (name: string) => table.getChild(name);
    const [idsCol, maskCol, idCol, repoCol, textCol, docIdsCol, docLenCol] = ['input_ids', 'loss_mask', 'id', 'repo', 'text', 'doc_ids', 'doc_lengths'].map(col);
    for (let k = 0; k < table.numRows && (limit === undefined || out.length < limit); k++) {
      out.push({
        shard: s.file,
        row: k,
        inputIds: ints(idsCol?.get(k)),
        lossMask: bytes(maskCol?.get(k)),
        ...(idCol ? { id: String(idCol.get(k)), repo: String(repoCol?.get(k)), text: String(textCol?.get(k)) } : {}),
        ...(docIdsCol ? { docIds: [...(docIdsCol.get(k) as Iterable<string>)], docLengths: ints(docLenCol?.get(k)) } : {}),
      });
    }
  }
  return out;
}

/** Decode ids into spans of equal loss mask (runs are decoded whole, so characters stay intact). */
export function spansOf(tok: Llama3Tokenizer, ids: Int32Array, mask: Uint8Array): Span[] {
  const spans: Span[] = [];
  let start = 0;
  for (let k = 1; k <= ids.length; k++) {
    if (k === ids.length || (mask[k] === 1) !== (mask[start] === 1)) {
      const text = tok.decode(ids.subarray(start, k));
      const trained = mask[start] === 1;
      const last = spans[spans.length - 1];
      if (last && last.trained === trained) last.text += text;
      else spans.push({ text, trained });
      start = k;
    }
  }
  return spans;
}

/** A document of the version: its tokens gathered from whichever rows hold them (packed too). */
export async function documentTokens(v: VersionInfo, docId: string): Promise<{ ids: Int32Array; mask: Uint8Array; repo?: string } | undefined> {
  const ids: number[] = [];
  const mask: number[] = [];
  let repo: string | undefined;
  for (const r of await readRows(v)) {
    if (r.id !== undefined) {
      if (r.id === docId) return { ids: r.inputIds, mask: r.lossMask, repo: r.repo };
      continue;
    }
    let at = 0;
    r.docIds!.forEach((d, j) => {
      const n = r.docLengths![j];
      if (d === docId) {
        ids.push(...r.inputIds.subarray(at, at + n));
        mask.push(...r.lossMask.subarray(at, at + n));
      }
      at += n;
    });
  }
  if (ids.length === 0) return undefined;
  const doc = (v.manifest.documents as Array<{ id: string; repo?: string }> | undefined)?.find((d) => d.id === docId);
  repo = doc?.repo;
  return { ids: Int32Array.from(ids), mask: Uint8Array.from(mask), repo };
}

export const tokenizer = loadLlama3Tokenizer;
