/**
 * Arrow column builders for shard rows. Each builds one column's buffers in a single pass over
 * the rows, straight from typed arrays, so a row group is assembled without apache-arrow's
 * per-value builders (which are several times slower on millions of token ids).
 * Every column and list item is non-nullable: a shard row never has a missing value.
 */
import * as arrow from 'apache-arrow';
import { concatLists, listOffsets, utf8Buffers } from './buffers.ts';

/** Child field name of every list: pyarrow's and arrow-rs's default, so schemas compare equal. */
const ITEM = 'item';

export function listOf<T extends arrow.DataType>(type: T): arrow.List<T> {
  return new arrow.List(new arrow.Field(ITEM, type, false));
}

export function utf8Data(values: readonly string[]): arrow.Data<arrow.Utf8> {
  const { offsets, data } = utf8Buffers(values);
  return arrow.makeData({ type: new arrow.Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data });
}

export function int32Data(values: Int32Array): arrow.Data<arrow.Int32> {
  return arrow.makeData({ type: new arrow.Int32(), length: values.length, nullCount: 0, data: values });
}

export function int32ListData(lists: readonly Int32Array[]): arrow.Data<arrow.List<arrow.Int32>> {
  const offsets = listOffsets(lists.length, (i) => lists[i]!.length);
  const values = concatLists(lists, new Int32Array(offsets[lists.length]!), offsets);
  return arrow.makeData({ type: listOf(new arrow.Int32()), length: lists.length, nullCount: 0, valueOffsets: offsets, child: int32Data(values) });
}

export function uint8ListData(lists: readonly Uint8Array[]): arrow.Data<arrow.List<arrow.Uint8>> {
  const offsets = listOffsets(lists.length, (i) => lists[i]!.length);
  const values = concatLists(lists, new Uint8Array(offsets[lists.length]!), offsets);
  const child = arrow.makeData({ type: new arrow.Uint8(), length: values.length, nullCount: 0, data: values });
  return arrow.makeData({ type: listOf(new arrow.Uint8()), length: lists.length, nullCount: 0, valueOffsets: offsets, child });
}

/** A list<utf8> column from one string array per row. */
export function utf8ListData(lists: readonly (readonly string[])[]): arrow.Data<arrow.List<arrow.Utf8>> {
  const offsets = listOffsets(lists.length, (i) => lists[i]!.length);
  const child = utf8Data(lists.flat());
  return arrow.makeData({ type: listOf(new arrow.Utf8()), length: lists.length, nullCount: 0, valueOffsets: offsets, child });
}

/** A record batch from columns built above, in the schema's field order. */
export function recordBatch(schema: arrow.Schema, rows: number, columns: arrow.Data[]): arrow.RecordBatch {
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows, nullCount: 0, children: columns });
  return new arrow.RecordBatch(schema, struct);
}
