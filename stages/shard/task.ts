/**
 * The shard stage's unit of work, run in a worker thread: rows come in as a stream over a
 * MessagePort (one document slice at a time, requested one ahead, so the main thread reads the
 * next document's blobs while this one is encoded), and one Parquet or Arrow IPC file goes out,
 * written once, straight to its place in the dataset's shard store (files.ts). Memory: the row
 * group being built plus one document in flight.
 */
import type { MessagePort } from 'node:worker_threads';
import { RetraceError, type ErrorCode } from '../../src/errors.ts';
import type { TokenizedDoc } from './layout.ts';
import type { ParquetCompression } from './parquet.ts';

export interface ShardTask {
  port: MessagePort;
  /** Where the file is written (atomically: a temporary name, then renamed to this one). */
  file: string;
  layout: 'documents' | 'packed';
  format: 'parquet' | 'arrow';
  compression: ParquetCompression;
  rowGroupRows: number;
  /** Packed layout: sequence length and how this shard's partial last sequence is handled. */
  seqLen: number;
  lastPartial: 'drop' | 'pad' | 'keep';
  padId: number;
  item: string;
}

/** One document slice as the main thread sends it. `ids` / `mask` hold exactly the slice. */
export interface SliceMessage {
  id: string;
  repo: string;
  license: string;
  /** The document's text (documents layout), UTF-8; empty for packed sequences. */
  text: ArrayBuffer;
  ids: ArrayBuffer;
  mask: ArrayBuffer;
}

/** What the main thread sends: a slice, the end of the rows, or why it cannot go on. */
export type FeedMessage = { slice: SliceMessage } | { end: true } | { error: { code: string; message: string; item?: string; hint?: string } };

export interface ShardTaskResult {
  sha256: string;
  bytes: number;
  rows: number;
  tokens: number;
}

/** Reads the feed: asks for the next slice as soon as one arrives (one ahead). */
export function feed(port: MessagePort): () => Promise<SliceMessage | undefined> {
  const queue: FeedMessage[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (m: FeedMessage) => {
    queue.push(m);
    wake?.();
  });
  port.postMessage('next');
  return async () => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    const m = queue.shift()!;
    if ('error' in m) throw new RetraceError(m.error.code as ErrorCode, m.error.message, { item: m.error.item, hint: m.error.hint });
    if ('end' in m) return undefined;
    port.postMessage('next');
    return m.slice;
  };
}

// ignoreBOM: a text starting with U+FEFF keeps it, as the row-group path (raw UTF-8 bytes) does.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function docOf(m: SliceMessage, withText: boolean): TokenizedDoc {
  return { id: m.id, repo: m.repo, license: m.license, text: withText ? utf8.decode(m.text) : '', inputIds: new Int32Array(m.ids), lossMask: new Uint8Array(m.mask) };
}

export default async function shardTask(task: ShardTask): Promise<ShardTaskResult> {
  const [{ openShardWriter }, { SequencePacker }] = await Promise.all([import('./writers.ts'), import('./pack.ts')]);
  const next = feed(task.port);
  const common = { file: task.file, rowGroupRows: task.rowGroupRows, ...(task.format === 'parquet' ? { format: 'parquet' as const, compression: task.compression } : { format: 'arrow' as const }) };
  try {
    if (task.layout === 'documents') {
      const w = await openShardWriter({ ...common, layout: 'documents' });
      try {
        for (let m = await next(); m; m = await next()) await w.append([docOf(m, true)]);
      } catch (err) {
        await w.abort();
        throw err;
      }
      return await w.close();
    }
    const w = await openShardWriter({ ...common, layout: 'packed' });
    try {
      const packer = new SequencePacker({ seqLen: task.seqLen, lastPartial: task.lastPartial, padId: task.padId });
      for (let m = await next(); m; m = await next()) {
        packer.push(docOf(m, false));
        for (let seq = packer.pull(); seq; seq = packer.pull()) await w.append([seq]);
      }
      packer.finish();
      for (let seq = packer.pull(); seq; seq = packer.pull()) await w.append([seq]);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return await w.close();
  } finally {
    task.port.close();
  }
}
