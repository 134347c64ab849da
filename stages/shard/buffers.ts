/**
 * A column's buffers built in one pass from typed arrays and strings (Arrow's layout: offsets +
 * values), without apache-arrow: columns.ts wraps them as Arrow `Data`, documents-parquet.ts
 * hands them to the Parquet encoder as they are.
 */

/** UTF-8 bytes of the strings back to back, and their offsets (one more than strings). */
export function utf8Buffers(values: readonly string[]): { offsets: Int32Array; data: Uint8Array } {
  let total = 0;
  for (const s of values) total += Buffer.byteLength(s, 'utf8');
  const bytes = Buffer.allocUnsafe(total);
  const offsets = new Int32Array(values.length + 1);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    at += bytes.write(values[i]!, at, 'utf8');
    if (at > 0x7fffffff) throw new RangeError('a string column exceeds 2^31 bytes in one row group');
    offsets[i + 1] = at;
  }
  return { offsets, data: new Uint8Array(bytes.buffer, bytes.byteOffset, total) };
}

/** Offsets of a list column whose i-th row has `lengthOf(i)` items. */
export function listOffsets(rows: number, lengthOf: (i: number) => number): Int32Array {
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    const next = offsets[i]! + lengthOf(i);
    if (next > 0x7fffffff) throw new RangeError('a list column exceeds 2^31 items in one row group');
    offsets[i + 1] = next;
  }
  return offsets;
}

/** The lists back to back in `values`, at `offsets`. */
export function concatLists<A extends Int32Array | Uint8Array>(lists: readonly A[], values: A, offsets: Int32Array): A {
  for (let i = 0; i < lists.length; i++) values.set(lists[i]!, offsets[i]!);
  return values;
}
