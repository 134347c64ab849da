/**
 * Parquet shards, written by our own encoder of Parquet's format (parquet.thrift; FileMetaData
 * version 1 and v1 data pages, what arrow-rs writes by default): PAR1, then per record batch one row
 * group whose column chunks are PLAIN-encoded data pages (v1) compressed with ZSTD (level 1) or
 * Snappy (native bindings: @toondepauw/node-zstd, snappy) or nothing, then the footer
 * (FileMetaData, Thrift compact protocol) and PAR1.
 *
 * Why not a library: parquet-wasm (arrow-rs in WASM) reached 20-27% of Arrow IPC's speed on the
 * same rows (bench/shard-write.ts, issue 17): every batch went through an IPC stream into WASM
 * memory, arrow-rs computed a 16-bit repetition and definition level per token id, and zstd ran
 * in WASM. Our columns are few and simple, so they are encoded straight from the Arrow buffers
 * the layouts build (columns.ts): int32 lists are handed to zstd as they are, levels are written
 * as RLE runs (two runs per list), strings get their 4-byte length prefixes in one pass.
 *
 * What a reader sees is what parquet-wasm wrote (and what PRODUCT.md promises): the same Parquet
 * schema (root `arrow_schema`; utf8 = BYTE_ARRAY STRING; list<T> = a REQUIRED group LIST with a
 * REPEATED group `list` holding a REQUIRED `item`; uint8 = INT32 INTEGER(8, unsigned)), the
 * ARROW:schema entry (the Arrow schema as an IPC message, base64) so pyarrow and arrow-rs restore
 * the exact Arrow types and the `retrace.layout` metadata, PLAIN encoding, no dictionary, no
 * statistics, ZSTD by default. No timestamp anywhere: identical rows give identical bytes.
 *
 * Pages: a column chunk is cut into data pages of about PAGE_BYTES of values, at row boundaries
 * (a row larger than that is one page).
 */
import * as arrow from 'apache-arrow';
import { Encoder } from '@toondepauw/node-zstd';
import { compressSync as snappyCompress } from 'snappy';
import { RetraceError } from '../../src/errors.ts';
import type { AtomicFile } from './atomic-file.ts';
import { encodeStruct, type ThriftStruct } from './thrift.ts';
import type { BatchSink } from './writers.ts';

import { PAGE_BYTES, ZSTD_LEVEL, type ParquetCompression } from './parquet-settings.ts';

export { PAGE_BYTES, ZSTD_LEVEL, type ParquetCompression } from './parquet-settings.ts';
/** Written as FileMetaData.created_by; fixed, so it never changes the bytes of a shard. */
export const CREATED_BY = 'retrace shard writer version 1.0.0';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// parquet.thrift enums
const TYPE = { INT32: 1, BYTE_ARRAY: 6 } as const;
const REPETITION = { REQUIRED: 0, REPEATED: 2 } as const;
const CONVERTED = { UTF8: 0, LIST: 3, UINT_8: 11 } as const;
const ENCODING = { PLAIN: 0, RLE: 3 } as const;
const PAGE_DATA = 0;

interface Codec {
  id: number;
  compress(page: Uint8Array): Uint8Array;
}

const CODECS: Record<ParquetCompression, () => Codec> = {
  zstd: () => {
    const encoder = new Encoder(ZSTD_LEVEL);
    // Named: CPU profiles attribute the native call to this frame, and bench/corpus-scale.ts
    // counts frames named /zstd/ in the CPU floor.
    function zstdCompress(page: Uint8Array): Uint8Array {
      return encoder.encodeSync(Buffer.from(page.buffer, page.byteOffset, page.byteLength));
    }
    return { id: 6, compress: zstdCompress };
  },
  // Parquet's SNAPPY is the raw (unframed) format: the one-shot compressSync.
  snappy: () => ({ id: 1, compress: (page) => snappyCompress(page) }),
  none: () => ({ id: 0, compress: (page) => page }),
};

/** What a leaf column holds: Parquet's physical type follows from it. */
type ValueKind = 'utf8' | 'int32' | 'uint8';

/** One Parquet leaf column: a top-level field, or the items of a list field. */
interface Leaf {
  name: string;
  /** Index of the top-level field in the record batch. */
  field: number;
  list: boolean;
  kind: ValueKind;
}

/** A column chunk's sizes: what the footer says of it beside its offset. */
export interface ChunkSizes {
  /** Level entries over its pages. */
  values: number;
  /** Bytes in the file: page headers + compressed pages. */
  compressed: number;
  /** Page headers + uncompressed pages. */
  uncompressed: number;
}

/** A row group's footer entry without offsets: its column chunks lie back to back in leaf order. */
export interface RowGroupSizes {
  rows: number;
  chunks: ChunkSizes[];
}

/** One encoded row group: its column chunks' bytes (position independent) and sizes. */
export interface EncodedRowGroup extends RowGroupSizes {
  /** One buffer per column chunk, in leaf order. */
  bytes: Uint8Array[];
}

/** The leading (and trailing) magic of a Parquet file. */
export const PARQUET_MAGIC: Uint8Array = Buffer.from('PAR1', 'latin1');

/**
 * Row groups and footers of one schema and codec. A row group's bytes depend on its rows alone
 * (a page header holds sizes and counts, never an offset): the file's absolute offsets live only
 * in the footer, computed from the sizes when the file is laid out as PAR1, the row groups' bytes
 * in order, the footer, its length and PAR1. So a row group encoded once can be copied into any
 * file (row-group.ts caches them by content) and the file is the same bytes as one written whole.
 */
export class ParquetEncoder {
  private readonly codec: Codec;
  private readonly leaves: Leaf[];
  private readonly schemaElements: ThriftStruct[];

  constructor(
    private readonly schema: arrow.Schema,
    compression: ParquetCompression,
    item: string,
  ) {
    const make = Object.hasOwn(CODECS, compression) ? CODECS[compression] : undefined;
    if (make === undefined) {
      throw new RetraceError('CONFIG_INVALID', `unknown Parquet compression "${compression}"`, {
        item,
        hint: `use one of ${Object.keys(CODECS).join(', ')}`,
      });
    }
    this.codec = make();
    const { leaves, elements } = parquetSchema(schema, item);
    this.leaves = leaves;
    this.schemaElements = elements;
  }

  /** A non-empty record batch as one row group. */
  rowGroup(batch: arrow.RecordBatch): EncodedRowGroup {
    const chunks: ChunkSizes[] = [];
    const bytes: Uint8Array[] = [];
    for (const leaf of this.leaves) {
      const data = batch.data.children[leaf.field]!;
      const pieces: Uint8Array[] = [];
      const meta: ChunkSizes = { values: 0, compressed: 0, uncompressed: 0 };
      for (const page of pagesOf(leaf, data)) {
        const compressed = this.codec.compress(page.body);
        const header = encodeStruct({
          1: { i32: PAGE_DATA },
          2: { i32: page.body.byteLength },
          3: { i32: compressed.byteLength },
          5: { struct: { 1: { i32: page.values }, 2: { i32: ENCODING.PLAIN }, 3: { i32: ENCODING.RLE }, 4: { i32: ENCODING.RLE } } },
        });
        pieces.push(header, compressed);
        meta.values += page.values;
        meta.uncompressed += header.byteLength + page.body.byteLength;
        meta.compressed += header.byteLength + compressed.byteLength;
      }
      bytes.push(Buffer.concat(pieces));
      chunks.push(meta);
    }
    return { rows: batch.numRows, chunks, bytes };
  }

  /**
   * The file's tail for these row groups laid out back to back after the leading PAR1: the
   * footer (FileMetaData, offsets computed here), its length, PAR1.
   */
  footer(groups: readonly RowGroupSizes[]): Uint8Array {
    if (groups.some((g) => g.chunks.length !== this.leaves.length)) throw new Error(`a row group does not have ${this.leaves.length} column chunks`);
    let at = PARQUET_MAGIC.byteLength;
    const placed = groups.map((g) => ({
      rows: g.rows,
      chunks: g.chunks.map((c) => {
        const offset = at;
        at += c.compressed;
        return { ...c, offset };
      }),
    }));
    const rows = groups.reduce((n, g) => n + g.rows, 0);
    const footer = encodeStruct({
      1: { i32: 1 },
      2: { list: { struct: this.schemaElements } },
      3: { i64: rows },
      4: { list: { struct: placed.map((g, ordinal) => this.rowGroupStruct(g, ordinal)) } },
      5: { list: { struct: [{ 1: { string: 'ARROW:schema' }, 2: { string: arrowSchemaEntry(this.schema) } }] } },
      6: { string: CREATED_BY },
      // TYPE_ORDER for every leaf, as arrow-rs writes it.
      7: { list: { struct: this.leaves.map(() => ({ 1: { struct: {} } })) } },
    });
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(footer.byteLength, 0);
    Buffer.from(PARQUET_MAGIC).copy(tail, 4);
    return Buffer.concat([footer, tail]);
  }

  private rowGroupStruct(g: { rows: number; chunks: Array<ChunkSizes & { offset: number }> }, ordinal: number): ThriftStruct {
    const columns = g.chunks.map((c, k): ThriftStruct => {
      const leaf = this.leaves[k]!;
      return {
        2: { i64: c.offset },
        3: {
          struct: {
            1: { i32: leaf.kind === 'utf8' ? TYPE.BYTE_ARRAY : TYPE.INT32 },
            2: { list: { i32: leaf.list ? [ENCODING.PLAIN, ENCODING.RLE] : [ENCODING.PLAIN] } },
            3: { list: { string: leaf.list ? [leaf.name, 'list', 'item'] : [leaf.name] } },
            4: { i32: this.codec.id },
            5: { i64: c.values },
            6: { i64: c.uncompressed },
            7: { i64: c.compressed },
            9: { i64: c.offset },
          },
        },
      };
    });
    return {
      1: { list: { struct: columns } },
      2: { i64: g.chunks.reduce((n, c) => n + c.uncompressed, 0) },
      3: { i64: g.rows },
      5: { i64: g.chunks[0]!.offset },
      6: { i64: g.chunks.reduce((n, c) => n + c.compressed, 0) },
      7: { i16: ordinal },
    };
  }
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
    this.encoder = new ParquetEncoder(schema, compression, file.file);
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    await this.start();
    // An empty batch becomes no row group (the footer still carries the schema).
    if (batch.numRows === 0) return;
    const g = this.encoder.rowGroup(batch);
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

/** The Parquet schema of an Arrow schema of non-nullable utf8 / int32 / uint8 fields and lists of them. */
function parquetSchema(schema: arrow.Schema, item: string): { leaves: Leaf[]; elements: ThriftStruct[] } {
  const unsupported = (f: arrow.Field, why: string) =>
    new RetraceError('STAGE_FAILED', `the Parquet writer cannot write field "${f.name}" (${f.type}): ${why}`, { item, hint: 'this is a bug in the shard layouts (layout.ts)' });
  const leaves: Leaf[] = [];
  const elements: ThriftStruct[] = [{ 4: { string: 'arrow_schema' }, 5: { i32: schema.fields.length } }];
  schema.fields.forEach((f, field) => {
    if (f.nullable) throw unsupported(f, 'nullable fields are not supported');
    if (arrow.DataType.isList(f.type)) {
      const child = (f.type as arrow.List).children[0]!;
      if (child.nullable) throw unsupported(f, 'nullable list items are not supported');
      const kind = kindOf(child.type);
      if (!kind || child.name !== 'item') throw unsupported(f, 'list items must be utf8, int32 or uint8 named "item"');
      leaves.push({ name: f.name, field, list: true, kind });
      elements.push(
        { 3: { i32: REPETITION.REQUIRED }, 4: { string: f.name }, 5: { i32: 1 }, 6: { i32: CONVERTED.LIST }, 10: { struct: { 3: { struct: {} } } } },
        { 3: { i32: REPETITION.REPEATED }, 4: { string: 'list' }, 5: { i32: 1 } },
        leafElement('item', kind),
      );
    } else {
      const kind = kindOf(f.type);
      if (!kind) throw unsupported(f, 'columns must be utf8, int32, uint8 or lists of them');
      leaves.push({ name: f.name, field, list: false, kind });
      elements.push(leafElement(f.name, kind));
    }
  });
  return { leaves, elements };
}

function kindOf(type: arrow.DataType): ValueKind | undefined {
  if (arrow.DataType.isUtf8(type)) return 'utf8';
  if (arrow.DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) return 'int32';
  if (arrow.DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned) return 'uint8';
  return undefined;
}

function leafElement(name: string, kind: ValueKind): ThriftStruct {
  const base: ThriftStruct = { 3: { i32: REPETITION.REQUIRED }, 4: { string: name } };
  if (kind === 'utf8') return { ...base, 1: { i32: TYPE.BYTE_ARRAY }, 6: { i32: CONVERTED.UTF8 }, 10: { struct: { 1: { struct: {} } } } };
  if (kind === 'uint8') return { ...base, 1: { i32: TYPE.INT32 }, 6: { i32: CONVERTED.UINT_8 }, 10: { struct: { 10: { struct: { 1: { i8: 8 }, 2: { bool: false } } } } } };
  return { ...base, 1: { i32: TYPE.INT32 } };
}

/** The Arrow schema as arrow-rs and pyarrow store it: an IPC schema message (continuation marker, length, flatbuffer), base64. */
const arrowSchemas = new WeakMap<arrow.Schema, string>();
function arrowSchemaEntry(schema: arrow.Schema): string {
  let entry = arrowSchemas.get(schema);
  if (entry === undefined) {
    const writer = new arrow.RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.finish();
    const stream = writer.toUint8Array(true);
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    if (view.getUint32(0, true) !== 0xffffffff) throw new Error('apache-arrow wrote an IPC stream without a continuation marker');
    entry = Buffer.from(stream.subarray(0, 8 + view.getInt32(4, true))).toString('base64');
    arrowSchemas.set(schema, entry);
  }
  return entry;
}

interface Page {
  /** Level entries (= values for a flat column; for a list, items plus one per empty list). */
  values: number;
  /** Uncompressed page: repetition levels, definition levels (lists only), PLAIN values. */
  body: Uint8Array;
}

/** Data pages of one column of a record batch, cut at row boundaries every ~PAGE_BYTES of values. */
function* pagesOf(leaf: Leaf, data: arrow.Data): Generator<Page> {
  const rows = data.length;
  if (data.offset !== 0) throw new Error(`column ${leaf.name}: sliced Arrow data is not supported`);
  if (!leaf.list) {
    for (let r0 = 0; r0 < rows; ) {
      const r1 = pageEnd(r0, rows, leaf.kind, data, (r) => r);
      yield { values: r1 - r0, body: plainValues(leaf.kind, data, r0, r1) };
      r0 = r1;
    }
    return;
  }
  const offsets = data.valueOffsets as Int32Array;
  const child = data.children[0]!;
  for (let r0 = 0; r0 < rows; ) {
    const r1 = pageEnd(r0, rows, leaf.kind, child, (r) => offsets[r]!);
    const rep = new LevelRuns();
    const def = new LevelRuns();
    let levels = 0;
    for (let r = r0; r < r1; r++) {
      const n = offsets[r + 1]! - offsets[r]!;
      if (n === 0) {
        rep.push(0, 1);
        def.push(0, 1);
        levels++;
      } else {
        rep.push(0, 1);
        if (n > 1) rep.push(1, n - 1);
        def.push(1, n);
        levels += n;
      }
    }
    const values = plainValues(leaf.kind, child, offsets[r0]!, offsets[r1]!);
    const repBytes = rep.finish();
    const defBytes = def.finish();
    const body = new Uint8Array(8 + repBytes.byteLength + defBytes.byteLength + values.byteLength);
    const view = new DataView(body.buffer);
    view.setUint32(0, repBytes.byteLength, true);
    body.set(repBytes, 4);
    view.setUint32(4 + repBytes.byteLength, defBytes.byteLength, true);
    body.set(defBytes, 8 + repBytes.byteLength);
    body.set(values, 8 + repBytes.byteLength + defBytes.byteLength);
    yield { values: levels, body };
    r0 = r1;
  }
}

/** The end of a page starting at row r0: rows are added while the values stay under PAGE_BYTES (at least one row). */
function pageEnd(r0: number, rows: number, kind: ValueKind, values: arrow.Data, itemAt: (row: number) => number): number {
  const start = itemAt(r0);
  const bytesTo = (r: number): number => {
    const end = itemAt(r);
    if (kind !== 'utf8') return 4 * (end - start);
    const o = values.valueOffsets as Int32Array;
    return o[end]! - o[start]! + 4 * (end - start);
  };
  // Binary search for the last row end within PAGE_BYTES (bytesTo grows with r).
  let lo = r0 + 1;
  let hi = rows;
  if (bytesTo(hi) <= PAGE_BYTES) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bytesTo(mid) <= PAGE_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** PLAIN encoding of values [i0, i1) of a flat Arrow column. */
function plainValues(kind: ValueKind, data: arrow.Data, i0: number, i1: number): Uint8Array {
  if (kind === 'int32') {
    const v = (data.values as Int32Array).subarray(i0, i1);
    return LITTLE_ENDIAN ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : int32LE(v);
  }
  if (kind === 'uint8') {
    // Parquet has no 8-bit physical type: INT32 annotated INTEGER(8, unsigned), as arrow-rs writes it.
    const wide = new Int32Array(i1 - i0);
    wide.set((data.values as Uint8Array).subarray(i0, i1));
    return LITTLE_ENDIAN ? new Uint8Array(wide.buffer) : int32LE(wide);
  }
  // BYTE_ARRAY: a 4-byte little-endian length before each value.
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const base = offsets[i0]!;
  const out = new Uint8Array(offsets[i1]! - base + 4 * (i1 - i0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (let i = i0; i < i1; i++) {
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    view.setUint32(at, e - s, true);
    out.set(bytes.subarray(s, e), at + 4);
    at += 4 + e - s;
  }
  return out;
}

function int32LE(v: Int32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setInt32(4 * i, v[i]!, true);
  return out;
}

/**
 * Levels of bit width 1 in Parquet's RLE / bit-packing hybrid, as RLE runs only: each run is a
 * varint header (count << 1) and the value in one byte. Adjacent pushes of one value merge.
 */
class LevelRuns {
  private bytes = new Uint8Array(64);
  private at = 0;
  private value = -1;
  private count = 0;

  push(value: number, count: number): void {
    if (value === this.value) {
      this.count += count;
      return;
    }
    this.flush();
    this.value = value;
    this.count = count;
  }

  finish(): Uint8Array {
    this.flush();
    return this.bytes.subarray(0, this.at);
  }

  private flush(): void {
    if (this.count === 0) return;
    if (this.at + 12 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    let n = this.count * 2;
    while (n >= 0x80) {
      this.bytes[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.bytes[this.at++] = n;
    this.bytes[this.at++] = this.value;
    this.count = 0;
  }
}
