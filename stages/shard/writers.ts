/**
 * Shard writers: rows in, one Parquet or Arrow IPC file out.
 *
 * Determinism: rows are buffered and cut into row groups (Parquet) or record batches (Arrow) by a
 * rule that depends only on the rows themselves (a row count and an approximate byte size), never
 * on how the rows were split across append() calls or on timing. Neither format's metadata holds
 * a timestamp, so identical rows give byte-identical files.
 *
 * Crash safety: the file is written under a temporary name and renamed into place by close()
 * (see atomic-file.ts); abort() removes it.
 */
import type * as arrow from 'apache-arrow';
import { asRetraceError, RetraceError } from '../../src/errors.ts';
import { ArrowIpcSink } from './arrow-ipc.ts';
import { AtomicFile } from './atomic-file.ts';
import { layouts, type Layout, type LayoutName, type RowOf } from './layout.ts';
import { ParquetSink } from './parquet-arrow.ts';
import type { ParquetCompression } from './parquet.ts';

export type { ParquetCompression } from './parquet.ts';

export interface ShardInfo {
  file: string;
  format: 'parquet' | 'arrow';
  rows: number;
  /** Sum of num_tokens. */
  tokens: number;
  bytes: number;
  /** Hex sha256 of the file's bytes. */
  sha256: string;
}

export interface ShardWriter<Row> {
  /** Buffers rows; writes a row group whenever one is full. Calls are serialized. */
  append(rows: readonly Row[]): Promise<void>;
  /** Writes the rest, then moves the file to its final name. */
  close(): Promise<ShardInfo>;
  /** Gives up: the temporary file is removed and nothing appears under the final name. */
  abort(): Promise<void>;
}

export interface RowGroupOptions {
  /** A row group is cut after this many rows (default 100,000) ... */
  rowGroupRows?: number;
  /** ... or once its rows' approximate uncompressed size reaches this (default 64 MiB). */
  rowGroupBytes?: number;
}

export type ShardWriterOptions<L extends LayoutName> = RowGroupOptions & { file: string; layout: L } & (
    | { format: 'parquet'; compression?: ParquetCompression }
    /** Arrow IPC files are uncompressed: apache-arrow JS ships no body codecs. */
    | { format: 'arrow' }
  );

/** Where record batches go: one implementation per file format. */
export interface BatchSink {
  write(batch: arrow.RecordBatch): Promise<void>;
  /** Writes the footer; `rows` and `batches` are what was written, for the sink's own checks. */
  finish(rows: number, batches: number): Promise<void>;
}

export const DEFAULT_ROW_GROUP_ROWS = 100_000;
export const DEFAULT_ROW_GROUP_BYTES = 64 * 1024 * 1024;
/** Keeps string offsets of one row group far below Arrow's 2^31 limit. */
const MAX_ROW_GROUP_BYTES = 1024 * 1024 * 1024;

export async function openShardWriter<L extends LayoutName>(opts: ShardWriterOptions<L>): Promise<ShardWriter<RowOf[L]>> {
  const maxRows = opts.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const maxBytes = opts.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
  if (!Number.isInteger(maxRows) || maxRows < 1 || !(maxBytes >= 1 && maxBytes <= MAX_ROW_GROUP_BYTES)) {
    throw new RetraceError('CONFIG_INVALID', `bad row group size (rows ${maxRows}, bytes ${maxBytes})`, {
      item: opts.file,
      hint: `rowGroupRows must be a positive integer, rowGroupBytes between 1 and ${MAX_ROW_GROUP_BYTES}`,
    });
  }
  const layout = layouts[opts.layout] as Layout<RowOf[L]>;
  const file = await AtomicFile.create(opts.file);
  try {
    const sink =
      opts.format === 'parquet'
        ? new ParquetSink(file, layout.schema, opts.compression ?? 'zstd')
        : new ArrowIpcSink(file, layout.schema);
    return new BufferedShardWriter(layout, opts.format, file, sink, maxRows, maxBytes);
  } catch (err) {
    await file.abort();
    throw err;
  }
}

class BufferedShardWriter<Row> implements ShardWriter<Row> {
  private buffered: Row[] = [];
  private bufferedBytes = 0;
  private rows = 0;
  private tokens = 0;
  private batches = 0;
  /** Serializes append/close so concurrent callers cannot interleave row groups. */
  private chain: Promise<unknown> = Promise.resolve();
  private state: 'open' | 'closed' | 'failed' = 'open';

  constructor(
    private readonly layout: Layout<Row>,
    private readonly format: ShardInfo['format'],
    private readonly file: AtomicFile,
    private readonly sink: BatchSink,
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {}

  append(rows: readonly Row[]): Promise<void> {
    return this.serialized(async () => {
      for (const row of rows) {
        this.buffered.push(row);
        this.bufferedBytes += this.layout.approxBytes(row);
        this.rows++;
        this.tokens += this.layout.tokens(row);
        if (this.buffered.length >= this.maxRows || this.bufferedBytes >= this.maxBytes) await this.writeBuffered();
      }
    });
  }

  close(): Promise<ShardInfo> {
    return this.serialized(async () => {
      // An empty shard still gets one (empty) batch, so the file carries the schema.
      if (this.buffered.length > 0 || this.batches === 0) await this.writeBuffered();
      await this.sink.finish(this.rows, this.batches);
      const done = await this.file.commit();
      this.state = 'closed';
      return { file: done.file, format: this.format, rows: this.rows, tokens: this.tokens, bytes: done.bytes, sha256: done.sha256 };
    });
  }

  async abort(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'failed';
    await this.chain;
    await this.file.abort();
  }

  private async writeBuffered(): Promise<void> {
    const batch = this.layout.toBatch(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.batches++;
    await this.sink.write(batch);
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.state !== 'open') throw new Error(`shard writer for ${this.file.file} is ${this.state}`);
      try {
        return await work();
      } catch (err) {
        this.state = 'failed';
        await this.file.abort();
        throw asRetraceError(err, 'STAGE_FAILED', this.file.file);
      }
    };
    const result = this.chain.then(run);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
