/**
 * The row-group stage's unit of work, run in a worker thread (row-group.ts): the documents of one
 * row group come in over a MessagePort as for a whole shard (task.ts), and the row group's column
 * chunks go out as bytes, with their sizes; nothing is written to disk here. The second task,
 * `footer`, lays out a file's footer from row-group sizes: it needs the Arrow schema (apache-arrow),
 * which the main thread never loads.
 */
import type { MessagePort } from 'node:worker_threads';
import { docOf, feed } from './task.ts';
import type { ChunkSizes, ParquetCompression, ParquetEncoder, RowGroupSizes } from './parquet.ts';

export type RowGroupTask =
  | { kind: 'encode'; port: MessagePort; item: string; compression: ParquetCompression }
  | { kind: 'footer'; item: string; compression: ParquetCompression; groups: RowGroupSizes[] };

export interface EncodedRowGroupResult {
  rows: number;
  tokens: number;
  chunks: ChunkSizes[];
  /** The column chunks back to back, in leaf order. */
  bytes: Uint8Array;
}

const encoders = new Map<ParquetCompression, ParquetEncoder>();

async function encoderFor(compression: ParquetCompression, item: string): Promise<ParquetEncoder> {
  let e = encoders.get(compression);
  if (!e) {
    const [{ ParquetEncoder }, { documentsLayout }] = await Promise.all([import('./parquet.ts'), import('./layout.ts')]);
    e = new ParquetEncoder(documentsLayout.schema, compression, item);
    encoders.set(compression, e);
  }
  return e;
}

export default async function rowGroupTask(task: RowGroupTask): Promise<EncodedRowGroupResult | Uint8Array> {
  if (task.kind === 'footer') return (await encoderFor(task.compression, task.item)).footer(task.groups);
  try {
    const encoder = await encoderFor(task.compression, task.item);
    const { documentsLayout } = await import('./layout.ts');
    const next = feed(task.port);
    const docs = [];
    for (let m = await next(); m; m = await next()) docs.push(docOf(m, true));
    if (docs.length === 0) throw new Error(`row group ${task.item} has no rows`);
    const g = encoder.rowGroup(documentsLayout.toBatch(docs));
    return { rows: g.rows, tokens: docs.reduce((n, d) => n + d.inputIds.length, 0), chunks: g.chunks, bytes: Buffer.concat(g.bytes) };
  } finally {
    task.port.close();
  }
}
