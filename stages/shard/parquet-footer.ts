/**
 * A Parquet file's footer (FileMetaData, Thrift compact protocol) from its schema and its row
 * groups' sizes: the row groups lie back to back after the leading PAR1, so every offset follows
 * from the sizes. Free of apache-arrow and of the codecs' native modules: the main thread lays a
 * shard out from cached row groups with it (files.ts), and the encoder (parquet.ts) ends a file
 * written whole with it, so both give the same bytes.
 */
import { encodeStruct, type ThriftStruct } from './thrift.ts';
import type { ParquetCompression } from './parquet-settings.ts';

/** Written as FileMetaData.created_by; fixed, so it never changes the bytes of a shard. */
export const CREATED_BY = 'retrace shard writer version 1.0.0';

/** The leading (and trailing) magic of a Parquet file. */
export const PARQUET_MAGIC: Uint8Array = Buffer.from('PAR1', 'latin1');

// parquet.thrift enums
const TYPE = { INT32: 1, BYTE_ARRAY: 6 } as const;
const REPETITION = { REQUIRED: 0, REPEATED: 2 } as const;
const CONVERTED = { UTF8: 0, LIST: 3, UINT_8: 11 } as const;
export const ENCODING = { PLAIN: 0, RLE: 3 } as const;
export const CODEC_IDS: Record<ParquetCompression, number> = { none: 0, snappy: 1, zstd: 6 };

/** What a leaf column holds: Parquet's physical type follows from it. */
export type ValueKind = 'utf8' | 'int32' | 'uint8';

/** A top-level field: non-nullable values of one kind, or non-nullable lists of them. */
export interface ParquetField {
  name: string;
  kind: ValueKind;
  list: boolean;
}

/**
 * What the encoder needs of a schema: its fields, and the ARROW:schema footer entry (the Arrow
 * schema as an IPC message, base64) that readers restore the exact Arrow types from. Made from an
 * Arrow schema by parquet-arrow.ts, or given as data (documents-parquet.ts), so that encoding a
 * row group and laying a file out never load apache-arrow.
 */
export interface ParquetSchema {
  fields: ParquetField[];
  arrowSchema: string;
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

/** A row group's footer entry without offsets: its column chunks lie back to back in field order. */
export interface RowGroupSizes {
  rows: number;
  chunks: ChunkSizes[];
}

const elementsOf = new WeakMap<ParquetSchema, ThriftStruct[]>();

/**
 * The file's tail for these row groups laid out back to back after the leading PAR1: the footer
 * (FileMetaData, offsets computed here), its length, PAR1.
 */
export function parquetFooter(schema: ParquetSchema, compression: ParquetCompression, groups: readonly RowGroupSizes[]): Uint8Array {
  const codec = CODEC_IDS[compression];
  if (codec === undefined) throw new Error(`unknown Parquet compression "${compression}"`);
  let elements = elementsOf.get(schema);
  if (!elements) elementsOf.set(schema, (elements = schemaElements(schema.fields)));
  if (groups.some((g) => g.chunks.length !== schema.fields.length)) throw new Error(`a row group does not have ${schema.fields.length} column chunks`);
  let at = PARQUET_MAGIC.byteLength;
  const rowGroups = groups.map((g, ordinal): ThriftStruct => {
    const start = at;
    const columns = g.chunks.map((c, k): ThriftStruct => {
      const f = schema.fields[k]!;
      const offset = at;
      at += c.compressed;
      return {
        2: { i64: offset },
        3: {
          struct: {
            1: { i32: f.kind === 'utf8' ? TYPE.BYTE_ARRAY : TYPE.INT32 },
            2: { list: { i32: f.list ? [ENCODING.PLAIN, ENCODING.RLE] : [ENCODING.PLAIN] } },
            3: { list: { string: f.list ? [f.name, 'list', 'item'] : [f.name] } },
            4: { i32: codec },
            5: { i64: c.values },
            6: { i64: c.uncompressed },
            7: { i64: c.compressed },
            9: { i64: offset },
          },
        },
      };
    });
    return {
      1: { list: { struct: columns } },
      2: { i64: g.chunks.reduce((n, c) => n + c.uncompressed, 0) },
      3: { i64: g.rows },
      5: { i64: start },
      6: { i64: g.chunks.reduce((n, c) => n + c.compressed, 0) },
      7: { i16: ordinal },
    };
  });
  const footer = encodeStruct({
    1: { i32: 1 },
    2: { list: { struct: elements } },
    3: { i64: groups.reduce((n, g) => n + g.rows, 0) },
    4: { list: { struct: rowGroups } },
    5: { list: { struct: [{ 1: { string: 'ARROW:schema' }, 2: { string: schema.arrowSchema } }] } },
    6: { string: CREATED_BY },
    // TYPE_ORDER for every leaf, as arrow-rs writes it.
    7: { list: { struct: schema.fields.map(() => ({ 1: { struct: {} } })) } },
  });
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(footer.byteLength, 0);
  Buffer.from(PARQUET_MAGIC).copy(tail, 4);
  return Buffer.concat([footer, tail]);
}

/** The Parquet schema elements of the fields (root `arrow_schema`), as arrow-rs writes them. */
function schemaElements(fields: readonly ParquetField[]): ThriftStruct[] {
  const elements: ThriftStruct[] = [{ 4: { string: 'arrow_schema' }, 5: { i32: fields.length } }];
  for (const f of fields) {
    if (f.list) {
      elements.push(
        { 3: { i32: REPETITION.REQUIRED }, 4: { string: f.name }, 5: { i32: 1 }, 6: { i32: CONVERTED.LIST }, 10: { struct: { 3: { struct: {} } } } },
        { 3: { i32: REPETITION.REPEATED }, 4: { string: 'list' }, 5: { i32: 1 } },
        leafElement('item', f.kind),
      );
    } else elements.push(leafElement(f.name, f.kind));
  }
  return elements;
}

function leafElement(name: string, kind: ValueKind): ThriftStruct {
  const base: ThriftStruct = { 3: { i32: REPETITION.REQUIRED }, 4: { string: name } };
  if (kind === 'utf8') return { ...base, 1: { i32: TYPE.BYTE_ARRAY }, 6: { i32: CONVERTED.UTF8 }, 10: { struct: { 1: { struct: {} } } } };
  if (kind === 'uint8') return { ...base, 1: { i32: TYPE.INT32 }, 6: { i32: CONVERTED.UINT_8 }, 10: { struct: { 10: { struct: { 1: { i8: 8 }, 2: { bool: false } } } } } };
  return { ...base, 1: { i32: TYPE.INT32 } };
}
