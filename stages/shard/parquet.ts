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
import { Encoder } from '@toondepauw/node-zstd';
import { RetraceError } from '../../src/errors.ts';
import { lazy } from '../../src/lazy.ts';
import { encodeStruct } from './thrift.ts';
import { CODEC_IDS, ENCODING, parquetFooter, type ChunkSizes, type ParquetField, type ParquetSchema, type RowGroupSizes, type ValueKind } from './parquet-footer.ts';

import { PAGE_BYTES, ZSTD_LEVEL, type ParquetCompression } from './parquet-settings.ts';

/** Loaded only when a shard is written with snappy (22 ms to load; zstd is the default). */
const snappy = lazy<typeof import('snappy')>('snappy');

export { PAGE_BYTES, ZSTD_LEVEL, type ParquetCompression } from './parquet-settings.ts';
export { CREATED_BY, PARQUET_MAGIC, type ChunkSizes, type ParquetField, type ParquetSchema, type RowGroupSizes, type ValueKind } from './parquet-footer.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
    return { id: CODEC_IDS.zstd, compress: zstdCompress };
  },
  // Parquet's SNAPPY is the raw (unframed) format: the one-shot compressSync.
  snappy: () => ({ id: CODEC_IDS.snappy, compress: (page) => snappy().compressSync(page) }),
  none: () => ({ id: CODEC_IDS.none, compress: (page) => page }),
};

/**
 * One column's values as the encoder reads them: the shape of an Arrow `Data` (which passes as
 * one), built without apache-arrow by documents-parquet.ts. Strings: `valueOffsets` + UTF-8
 * `values`; lists: `valueOffsets` + one child.
 */
export interface ColumnData {
  readonly length: number;
  readonly offset: number;
  readonly valueOffsets?: Int32Array;
  readonly values?: Int32Array | Uint8Array;
  readonly children: readonly ColumnData[];
}

/** One Parquet leaf column: a top-level field, or the items of a list field. */
interface Leaf extends ParquetField {
  /** Index of the top-level field in the record batch. */
  field: number;
}

/** One encoded row group: its column chunks' bytes (position independent) and sizes. */
export interface EncodedRowGroup extends RowGroupSizes {
  /** One buffer per column chunk, in leaf order. */
  bytes: Uint8Array[];
}

/**
 * Row groups of one schema and codec. A row group's bytes depend on its rows alone (a page header
 * holds sizes and counts, never an offset): the file's absolute offsets live only in the footer
 * (parquet-footer.ts), computed from the sizes when the file is laid out as PAR1, the row groups'
 * bytes in order, the footer, its length and PAR1. So a row group encoded once can be copied into
 * any file (row-group.ts caches them by content) and the file is the same bytes as one written whole.
 */
export class ParquetEncoder {
  private readonly codec: Codec;
  private readonly leaves: Leaf[];

  constructor(
    private readonly schema: ParquetSchema,
    private readonly compression: ParquetCompression,
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
    this.leaves = schema.fields.map((f, field) => ({ ...f, field }));
  }

  /** Non-empty columns (one per field, in order, `rows` values each) as one row group. */
  rowGroup(columns: readonly ColumnData[], rows: number): EncodedRowGroup {
    const chunks: ChunkSizes[] = [];
    const bytes: Uint8Array[] = [];
    for (const leaf of this.leaves) {
      const data = columns[leaf.field]!;
      if (data.length !== rows) throw new Error(`column ${leaf.name} has ${data.length} values, not ${rows}`);
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
    return { rows, chunks, bytes };
  }

  /** The file's tail for these row groups (parquet-footer.ts). */
  footer(groups: readonly RowGroupSizes[]): Uint8Array {
    return parquetFooter(this.schema, this.compression, groups);
  }
}

interface Page {
  /** Level entries (= values for a flat column; for a list, items plus one per empty list). */
  values: number;
  /** Uncompressed page: repetition levels, definition levels (lists only), PLAIN values. */
  body: Uint8Array;
}

/** Data pages of one column of a record batch, cut at row boundaries every ~PAGE_BYTES of values. */
function* pagesOf(leaf: Leaf, data: ColumnData): Generator<Page> {
  const rows = data.length;
  if (data.offset !== 0) throw new Error(`column ${leaf.name}: sliced data is not supported`);
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
function pageEnd(r0: number, rows: number, kind: ValueKind, values: ColumnData, itemAt: (row: number) => number): number {
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
function plainValues(kind: ValueKind, data: ColumnData, i0: number, i1: number): Uint8Array {
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
