/**
 * The row-group stage's unit of work, run in a worker thread (row-group.ts): the documents of one
 * row group come in over a MessagePort as for a whole shard (task.ts), and the row group's column
 * chunks go out as bytes, with their sizes; nothing is written to disk here. apache-arrow is not
 * loaded (documents-parquet.ts builds the columns).
 */
import type { MessagePort } from 'node:worker_threads';
import { feed } from './task.ts';
import type { DocumentRow } from './documents-parquet.ts';
import type { ChunkSizes, ParquetCompression, ParquetEncoder } from './parquet.ts';

export interface RowGroupTask {
  port: MessagePort;
  item: string;
  compression: ParquetCompression;
}

export interface EncodedRowGroupResult {
  rows: number;
  tokens: number;
  chunks: ChunkSizes[];
  /** The column chunks back to back, in leaf order. */
  bytes: Uint8Array;
}

const encoders = new Map<ParquetCompression, ParquetEncoder>();

/** The encoder of the documents layout: no apache-arrow (documents-parquet.ts). */
async function encoderFor(compression: ParquetCompression, item: string): Promise<ParquetEncoder> {
  let e = encoders.get(compression);
  if (!e) {
    const [{ ParquetEncoder }, { DOCUMENTS_PARQUET }] = await Promise.all([import('./parquet.ts'), import('./documents-parquet.ts')]);
    e = new ParquetEncoder(DOCUMENTS_PARQUET, compression, item);
    encoders.set(compression, e);
  }
  return e;
}

export default async function rowGroupTask(task: RowGroupTask): Promise<EncodedRowGroupResult> {
  try {
    const encoder = await encoderFor(task.compression, task.item);
    const { documentColumns } = await import('./documents-parquet.ts');
    const next = feed(task.port);
    const docs: DocumentRow[] = [];
    // The text stays the UTF-8 bytes it came as: the text column holds exactly them.
    for (let m = await next(); m; m = await next()) docs.push({ id: m.id, repo: m.repo, license: m.license, text: new Uint8Array(m.text), inputIds: new Int32Array(m.ids), lossMask: new Uint8Array(m.mask) });
    if (docs.length === 0) throw new Error(`row group ${task.item} has no rows`);
    const g = encoder.rowGroup(documentColumns(docs), docs.length);
    return { rows: g.rows, tokens: docs.reduce((n, d) => n + d.inputIds.length, 0), chunks: g.chunks, bytes: Buffer.concat(g.bytes) };
  } finally {
    task.port.close();
  }
}
