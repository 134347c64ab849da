/**
 * Parquet through parquet-wasm (arrow-rs compiled to WASM), chosen over parquetjs-lite by
 * measurement (bench/shard-write.ts): several times faster, ZSTD support, and a proper
 * list<int32> logical type.
 *
 * Streaming: record batches are handed to parquet-wasm's transformParquetStream one at a time
 * (as an Arrow IPC stream, the only way into WASM memory) and the Parquet bytes it emits are
 * written to the file as they come, so memory stays at about one row group.
 * One batch = one row group: max_row_group_bytes = 1 makes arrow-rs close the row group after
 * every batch (it never splits a batch on bytes); max_row_group_size = our row limit means it
 * never splits one on rows either. Our batches are cut deterministically (writers.ts), so the
 * row groups are too. The footer holds only "parquet-rs version X" and the ARROW:schema
 * entry: no timestamp.
 *
 * transformParquetStream drops arrow-rs write errors silently, so finish() re-reads the footer
 * of the written file and checks its row and row group counts.
 */
import * as arrow from 'apache-arrow';
import { openAsBlob } from 'node:fs';
import * as pw from 'parquet-wasm';
import { RetraceError } from '../../src/errors.ts';
import type { AtomicFile } from './atomic-file.ts';
import type { BatchSink } from './writers.ts';

export type ParquetCompression = 'zstd' | 'snappy' | 'none';

const CODECS: Record<ParquetCompression, pw.Compression> = {
  zstd: pw.Compression.ZSTD,
  snappy: pw.Compression.SNAPPY,
  none: pw.Compression.UNCOMPRESSED,
};

export class ParquetSink implements BatchSink {
  private readonly props: pw.WriterProperties;
  /** Resolves when parquet-wasm asks for the next batch. */
  private demand = signal();
  private input?: ReadableStreamDefaultController<pw.RecordBatch>;
  /** Copies parquet-wasm's output to the file; settles when the output stream ends. */
  private output?: Promise<void>;

  constructor(
    private readonly file: AtomicFile,
    private readonly schema: arrow.Schema,
    compression: ParquetCompression,
    maxRows: number,
  ) {
    const codec = CODECS[compression];
    if (codec === undefined) {
      throw new RetraceError('CONFIG_INVALID', `unknown Parquet compression "${compression}"`, {
        item: file.file,
        hint: `use one of ${Object.keys(CODECS).join(', ')}`,
      });
    }
    // No dictionary encoding: arrow-rs builds a hash table over every value of every column
    // (millions of token ids per row group) only to fall back to PLAIN for input_ids and text;
    // without it the writer is ~3-4x faster (bench/shard-write.ts). No min/max statistics
    // either (shards are read whole by training loaders; page-level stats of every token id cost
    // ~10-20% more), and values are handed to the encoders 8192 at a time.
    this.props = new pw.WriterPropertiesBuilder()
      .setDictionaryEnabled(false)
      .setStatisticsEnabled(pw.EnabledStatistics.None)
      .setWriteBatchSize(8192)
      .setCompression(codec)
      .setMaxRowGroupSize(maxRows)
      .setMaxRowGroupBytes(1)
      .build();
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    const wasmBatch = toWasm(batch);
    if (!this.input) this.start();
    // Wait for parquet-wasm to want a batch (or for the output side to fail).
    await Promise.race([this.demand.promise, this.output]);
    this.demand = signal();
    this.input!.enqueue(wasmBatch);
  }

  async finish(rows: number, batches: number): Promise<void> {
    this.input!.close();
    await this.output;
    const meta = (await pw.ParquetFile.fromFile(await openAsBlob(this.file.tmp))).metadata();
    const written = { rows: meta.fileMetadata().numRows(), rowGroups: meta.numRowGroups() };
    // An empty batch becomes no row group.
    const expected = { rows, rowGroups: rows === 0 ? 0 : batches };
    if (written.rows !== expected.rows || written.rowGroups !== expected.rowGroups) {
      throw new RetraceError(
        'STAGE_FAILED',
        `parquet-wasm wrote ${written.rows} rows in ${written.rowGroups} row groups, expected ${expected.rows} in ${expected.rowGroups}`,
        { item: this.file.file },
      );
    }
  }

  private start(): void {
    const input = new ReadableStream<pw.RecordBatch>(
      {
        start: (controller) => {
          this.input = controller;
        },
        pull: () => this.demand.resolve(),
      },
      { highWaterMark: 0 },
    );
    // transformParquetStream resolves only after it has read the first batch: do not await here.
    this.output = pw.transformParquetStream(input, this.props).then(async (bytes: ReadableStream<Uint8Array>) => {
      for await (const chunk of bytes) await this.file.write(chunk);
    });
    // Failures surface through write()/finish(); this only keeps an early one from being unhandled.
    this.output.catch(() => undefined);
  }
}

/** A promise with its resolve function (Promise.withResolvers needs Node 22). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function toWasm(batch: arrow.RecordBatch): pw.RecordBatch {
  const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table([batch]), 'stream'));
  try {
    const wasmBatch = table.recordBatch(0);
    if (!wasmBatch) throw new Error('parquet-wasm read no batch from the IPC stream');
    return wasmBatch;
  } finally {
    table.free();
  }
}
