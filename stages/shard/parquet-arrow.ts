/**
 * The Parquet encoder (parquet.ts) from Arrow: the Parquet schema of an Arrow schema, and the
 * batch sink the shard writers use (writers.ts: Arrow record batches in, one file out). Kept apart
 * from the encoder so that encoding a cached row group (row-group-task.ts) and laying a file out
 * (files.ts) never load apache-arrow.
 */
import * as arrow from 'apache-arrow';
import { RetraceError } from '../../src/errors.ts';
import type { AtomicFile } from './atomic-file.ts';
import { PARQUET_MAGIC, ParquetEncoder, type ParquetCompression, type ParquetField, type ParquetSchema, type RowGroupSizes, type ValueKind } from './parquet.ts';
import type { BatchSink } from './writers.ts';

/** The Parquet schema of an Arrow schema of non-nullable utf8 / int32 / uint8 fields and lists of them. */
const schemas = new WeakMap<arrow.Schema, ParquetSchema>();
export function parquetSchemaOf(schema: arrow.Schema, item: string): ParquetSchema {
  const known = schemas.get(schema);
  if (known) return known;
  const unsupported = (f: arrow.Field, why: string) =>
    new RetraceError('STAGE_FAILED', `the Parquet writer cannot write field "${f.name}" (${f.type}): ${why}`, { item, hint: 'this is a bug in the shard layouts (layout.ts)' });
  const fields: ParquetField[] = schema.fields.map((f) => {
    if (f.nullable) throw unsupported(f, 'nullable fields are not supported');
    if (arrow.DataType.isList(f.type)) {
      const child = (f.type as arrow.List).children[0]!;
      if (child.nullable) throw unsupported(f, 'nullable list items are not supported');
      const kind = kindOf(child.type);
      if (!kind || child.name !== 'item') throw unsupported(f, 'list items must be utf8, int32 or uint8 named "item"');
      return { name: f.name, kind, list: true };
    }
    const kind = kindOf(f.type);
    if (!kind) throw unsupported(f, 'columns must be utf8, int32, uint8 or lists of them');
    return { name: f.name, kind, list: false };
  });
  const out = { fields, arrowSchema: arrowSchemaEntry(schema) };
  schemas.set(schema, out);
  return out;
}

function kindOf(type: arrow.DataType): ValueKind | undefined {
  if (arrow.DataType.isUtf8(type)) return 'utf8';
  if (arrow.DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) return 'int32';
  if (arrow.DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned) return 'uint8';
  return undefined;
}

/** The Arrow schema as arrow-rs and pyarrow store it: an IPC schema message (continuation marker, length, flatbuffer), base64. */
export function arrowSchemaEntry(schema: arrow.Schema): string {
  const writer = new arrow.RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  writer.finish();
  const stream = writer.toUint8Array(true);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  if (view.getUint32(0, true) !== 0xffffffff) throw new Error('apache-arrow wrote an IPC stream without a continuation marker');
  return Buffer.from(stream.subarray(0, 8 + view.getInt32(4, true))).toString('base64');
}

/** A Parquet file written record batch by record batch (the packed layout's path, and tests). */
export class ParquetSink implements BatchSink {
  private readonly encoder: ParquetEncoder;
  private readonly rowGroups: RowGroupSizes[] = [];
  private started = false;

  constructor(
    private readonly file: AtomicFile,
    schema: arrow.Schema,
    compression: ParquetCompression,
  ) {
    this.encoder = new ParquetEncoder(parquetSchemaOf(schema, file.file), compression, file.file);
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    await this.start();
    // An empty batch becomes no row group (the footer still carries the schema).
    if (batch.numRows === 0) return;
    const g = this.encoder.rowGroup(batch.data.children, batch.numRows);
    for (const b of g.bytes) await this.file.write(b);
    this.rowGroups.push({ rows: g.rows, chunks: g.chunks });
  }

  async finish(rows: number): Promise<void> {
    await this.start();
    const written = this.rowGroups.reduce((n, g) => n + g.rows, 0);
    if (written !== rows) {
      throw new RetraceError('STAGE_FAILED', `Parquet writer wrote ${written} rows, expected ${rows}`, { item: this.file.file });
    }
    await this.file.write(this.encoder.footer(this.rowGroups));
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.file.write(PARQUET_MAGIC);
  }
}
