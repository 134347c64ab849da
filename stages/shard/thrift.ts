/**
 * The Thrift compact protocol, write side only: what Parquet's page headers and file footer are
 * encoded in (parquet.thrift; spec: thrift's compact protocol). A struct is written field by
 * field in increasing id order; a field that is undefined is left out (an optional field).
 *
 * Values: i8/i16/i32 are zigzag varints, i64 too (JS numbers: exact up to 2^53, more than any
 * file offset or count here), binary/string is a varint length then the bytes, a list is a
 * size+element-type header then the elements, a struct ends with a 0 byte. Booleans in a field
 * carry their value in the field header's type nibble.
 */

/** Compact protocol type ids. */
const T = { TRUE: 1, FALSE: 2, I8: 3, I16: 4, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/** A field value: the type decides the encoding. */
export type ThriftValue =
  | { i8: number }
  | { i16: number }
  | { i32: number }
  | { i64: number }
  | { bool: boolean }
  | { string: string }
  | { struct: ThriftStruct }
  | { list: ThriftList };

/** Field id -> value; undefined values are omitted. */
export type ThriftStruct = Record<number, ThriftValue | undefined>;

export type ThriftList = { i32: number[] } | { string: string[] } | { struct: ThriftStruct[] };

export class ThriftWriter {
  private buf = new Uint8Array(256);
  private at = 0;

  /** The bytes written so far (a copy owned by the caller). */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.at);
  }

  struct(fields: ThriftStruct): this {
    let last = 0;
    for (const id of Object.keys(fields).map(Number).sort((a, b) => a - b)) {
      const value = fields[id];
      if (value === undefined) continue;
      this.fieldHeader(id, last, typeOf(value));
      last = id;
      if (!('bool' in value)) this.value(value);
    }
    this.byte(0);
    return this;
  }

  private value(v: ThriftValue): void {
    if ('i8' in v) this.byte(v.i8 & 0xff);
    else if ('i16' in v) this.varint(zigzag(v.i16));
    else if ('i32' in v) this.varint(zigzag(v.i32));
    else if ('i64' in v) this.varint(zigzag(v.i64));
    else if ('string' in v) this.string(v.string);
    else if ('struct' in v) this.struct(v.struct);
    else if ('list' in v) this.list(v.list);
    else throw new Error(`thrift: cannot write ${JSON.stringify(v)}`);
  }

  private list(l: ThriftList): void {
    const [type, items] = 'i32' in l ? [T.I32, l.i32] : 'string' in l ? [T.BINARY, l.string] : [T.STRUCT, l.struct];
    if (items.length < 15) this.byte((items.length << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(items.length);
    }
    for (const item of items) {
      if (type === T.I32) this.varint(zigzag(item as number));
      else if (type === T.BINARY) this.string(item as string);
      else this.struct(item as ThriftStruct);
    }
  }

  private fieldHeader(id: number, last: number, type: number): void {
    const delta = id - last;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.varint(zigzag(id));
    }
  }

  private string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  private varint(n: number): void {
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`thrift: varint out of range: ${n}`);
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
  }
}

function typeOf(v: ThriftValue): number {
  if ('bool' in v) return v.bool ? T.TRUE : T.FALSE;
  if ('i8' in v) return T.I8;
  if ('i16' in v) return T.I16;
  if ('i32' in v) return T.I32;
  if ('i64' in v) return T.I64;
  if ('string' in v) return T.BINARY;
  if ('struct' in v) return T.STRUCT;
  return T.LIST;
}

/** Zigzag: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ... (exact for safe integers). */
function zigzag(n: number): number {
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 52) throw new RangeError(`thrift: integer out of range: ${n}`);
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/** One struct's compact encoding. */
export function encodeStruct(fields: ThriftStruct): Uint8Array {
  return new ThriftWriter().struct(fields).bytes();
}
