/**
 * JSON too large for one string (issue 17: a manifest of a few hundred thousand sources passes
 * V8's string limit of 2^29 characters). Writing and hashing emit the very characters of
 * `JSON.stringify(value, null, indent)` or `canonicalJson(value)` in pieces; reading parses a
 * large file in chunks into the value `JSON.parse` would give. Small values take the one-string
 * path, so nothing changes for them.
 *
 * Reading splits the text structurally at the top two levels (the top-level container and the
 * containers directly in it, e.g. a manifest's `sources` list) and hands every value below them
 * to `JSON.parse` whole: one element of a list may be large, but not 2^29 characters.
 */
import { closeSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { canonicalJson } from './key.ts';

/** Pieces are handed to the sink at about this many characters. */
const PIECE_CHARS = 1 << 20;
/** A container with more elements than this is written element by element, whatever its depth. */
const SPLIT_ELEMENTS = 64;
/** Containers at depths below this are always written (and read) element by element. */
const SPLIT_DEPTH = 2;

/** Buffers small strings into pieces of about PIECE_CHARS for the sink. */
class Pieces {
  private parts: string[] = [];
  private chars = 0;
  constructor(private readonly sink: (piece: string) => void) {}
  add(s: string): void {
    this.parts.push(s);
    this.chars += s.length;
    if (this.chars >= PIECE_CHARS) this.flush();
  }
  flush(): void {
    if (this.chars === 0 && this.parts.length === 0) return;
    const piece = this.parts.join('');
    this.parts = [];
    this.chars = 0;
    if (piece.length > 0) this.sink(piece);
  }
}

/** What JSON.stringify does to a property value before writing it (toJSON; undefined for values it leaves out). */
function jsonValue(key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(k: string): unknown }).toJSON(key);
  if (typeof v === 'function' || typeof v === 'symbol') return undefined;
  return v;
}

const size = (v: object): number => (Array.isArray(v) ? v.length : Object.keys(v).length);

/**
 * `JSON.stringify(value, null, indent)` (indent 0: no whitespace), handed to `sink` in pieces of
 * about 1M characters; the pieces joined are exactly that text. Throws what JSON.stringify throws
 * (a cycle, a BigInt).
 */
export function writeJsonPieces(value: unknown, indent: number, sink: (piece: string) => void): void {
  const out = new Pieces(sink);
  const unit = ' '.repeat(indent);
  const whole = (v: unknown, depth: number): string => {
    const s = JSON.stringify(v, null, indent);
    return indent > 0 && depth > 0 ? s.replaceAll('\n', '\n' + unit.repeat(depth)) : s;
  };
  const write = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || (depth >= SPLIT_DEPTH && size(v) <= SPLIT_ELEMENTS)) {
      out.add(whole(v, depth));
      return;
    }
    const open = Array.isArray(v) ? '[' : '{';
    const close = Array.isArray(v) ? ']' : '}';
    const nl = indent > 0 ? '\n' + unit.repeat(depth + 1) : '';
    const sep = indent > 0 ? ': ' : ':';
    let first = true;
    const next = () => {
      out.add(first ? open + nl : ',' + nl);
      first = false;
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = jsonValue(String(i), v[i]);
        next();
        if (x === undefined) out.add('null');
        else write(x, depth + 1);
      }
    } else {
      for (const k of Object.keys(v)) {
        const x = jsonValue(k, (v as Record<string, unknown>)[k]);
        if (x === undefined) continue;
        next();
        out.add(JSON.stringify(k) + sep);
        write(x, depth + 1);
      }
    }
    out.add(first ? open + close : (indent > 0 ? '\n' + unit.repeat(depth) : '') + close);
  };
  const top = jsonValue('', value);
  if (top === undefined) throw new TypeError('nothing to write: the value has no JSON text');
  write(top, 0);
  out.flush();
}

/** `canonicalJson(value)` (src/key.ts: keys sorted at every level), handed to `sink` in pieces. */
export function canonicalJsonPieces(value: unknown, sink: (piece: string) => void): void {
  const out = new Pieces(sink);
  const write = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || (depth >= SPLIT_DEPTH && size(v) <= SPLIT_ELEMENTS)) {
      out.add(canonicalJson(v));
      return;
    }
    if (Array.isArray(v)) {
      out.add('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out.add(',');
        write(v[i], depth + 1);
      }
      out.add(']');
      return;
    }
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    out.add('{');
    keys.forEach((k, i) => {
      out.add((i > 0 ? ',' : '') + JSON.stringify(k) + ':');
      write(obj[k], depth + 1);
    });
    out.add('}');
  };
  write(value, 0);
  out.flush();
}

/** Writes `JSON.stringify(value, null, indent) + '\n'` to an open file, in pieces. */
export function writeJsonToFd(fd: number, value: unknown, indent = 2): void {
  writeJsonPieces(value, indent, (piece) => writeAll(fd, Buffer.from(piece, 'utf8')));
  writeAll(fd, Buffer.from('\n'));
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** Files at most this large are read as one string and JSON.parse'd. */
export const ONE_STRING_BYTES = 64 * 1024 * 1024;

/**
 * `JSON.parse` of a file's text, for files of any size: one string up to ONE_STRING_BYTES,
 * otherwise read in chunks (`chunkBytes`, for tests) and split structurally at the top two levels.
 * Throws a SyntaxError naming the byte offset where the text stops being JSON.
 */
export function readJsonFile(path: string, opts: { chunkBytes?: number; oneStringBytes?: number } = {}): unknown {
  if (statSync(path).size <= (opts.oneStringBytes ?? ONE_STRING_BYTES)) return JSON.parse(readFileSync(path, 'utf8'));
  const fd = openSync(path, 'r');
  try {
    const parser = new ChunkedJsonParser();
    const buf = Buffer.allocUnsafe(opts.chunkBytes ?? 16 * 1024 * 1024);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      parser.push(buf.subarray(0, n));
      pos += n;
    }
    return parser.end();
  } finally {
    closeSync(fd);
  }
}

/** `JSON.stringify(value)` as UTF-8 bytes, built in pieces (the value's text may be larger than a string can be). */
export function jsonBytes(value: unknown): Uint8Array {
  const parts: Buffer[] = [];
  writeJsonPieces(value, 0, (piece) => parts.push(Buffer.from(piece, 'utf8')));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** `JSON.parse` of UTF-8 bytes: one string up to ONE_STRING_BYTES, otherwise parsed in chunks. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  if (bytes.length <= ONE_STRING_BYTES) return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  const p = new ChunkedJsonParser();
  p.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return p.end();
}

// Bytes the scanner looks at.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

interface Frame {
  value: unknown[] | Record<string, unknown>;
  array: boolean;
  /** key: an object wants a key (or its end); colon; value; more: a comma or the end. */
  want: 'key' | 'colon' | 'value' | 'more';
  /** Right after the opening bracket or a comma: decides whether a closing bracket is allowed. */
  empty: boolean;
  key?: string;
}

/**
 * A JSON text pushed in chunks of bytes. Containers at the top two levels are built here; any
 * other value (and every key and primitive) is captured as bytes, across chunks, and given to
 * JSON.parse whole. `end()` returns the value, the same as JSON.parse of the whole text.
 */
export class ChunkedJsonParser {
  private stack: Frame[] = [];
  private result: { value: unknown } | undefined;
  private offset = 0;
  // The value being captured: its bytes so far, and how to tell where it ends.
  private capture: Buffer[] | undefined;
  private capStart = 0;
  private capAt = 0; // where it began in the whole text
  private capDepth = 0; // open brackets inside it
  private capString = false; // inside a string
  private capEscape = false;
  private capKind: 'string' | 'container' | 'primitive' = 'primitive';

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.capture) {
        i = this.scanCapture(chunk, i);
        continue;
      }
      const b = chunk[i]!;
      if (isSpace(b)) i++;
      else if (this.structural(b, i)) i++;
    }
    if (this.capture) this.capture.push(Buffer.from(chunk.subarray(this.capStart, n)));
    this.capStart = 0;
    this.offset += n;
  }

  end(): unknown {
    if (this.capture && this.capKind === 'primitive') this.finishCapture(Buffer.alloc(0), 0);
    if (this.capture || this.stack.length > 0 || !this.result) throw new SyntaxError(`JSON text ends early (at byte ${this.offset})`);
    return this.result.value;
  }

  private fail(what: string, at: number): never {
    throw new SyntaxError(`${what} in JSON at byte ${this.offset + at}`);
  }

  /** One non-space byte outside any capture; false when it begins a primitive (scanned as part of it). */
  private structural(b: number, i: number): boolean {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (this.result) this.fail('unexpected text after the end', i);
      return this.beginValue(b, i);
    }
    if (top.want === 'more') {
      if (b === COMMA) {
        top.want = top.array ? 'value' : 'key';
        top.empty = false;
      } else if (b === (top.array ? RBRACKET : RBRACE)) this.close();
      else this.fail(`expected , or ${top.array ? ']' : '}'}`, i);
      return true;
    }
    if (top.want === 'colon') {
      if (b !== COLON) this.fail('expected :', i);
      top.want = 'value';
      return true;
    }
    if (top.want === 'key') {
      if (b === RBRACE && top.empty) this.close();
      else if (b === QUOTE) this.startCapture('string', i);
      else this.fail('expected a key', i);
      return true;
    }
    if (top.array && top.empty && b === RBRACKET) {
      this.close();
      return true;
    }
    return this.beginValue(b, i);
  }

  private beginValue(b: number, i: number): boolean {
    if (b === LBRACE || b === LBRACKET) {
      if (this.stack.length < SPLIT_DEPTH) {
        const array = b === LBRACKET;
        this.stack.push({ value: array ? [] : {}, array, want: array ? 'value' : 'key', empty: true });
      } else this.startCapture('container', i);
      return true;
    }
    if (b === QUOTE) {
      this.startCapture('string', i);
      return true;
    }
    if (b === RBRACE || b === RBRACKET || b === COMMA || b === COLON) this.fail(`unexpected ${String.fromCharCode(b)}`, i);
    this.startCapture('primitive', i);
    return false;
  }

  private startCapture(kind: 'string' | 'container' | 'primitive', i: number): void {
    this.capKind = kind;
    this.capture = [];
    this.capStart = i;
    this.capAt = this.offset + i;
    this.capDepth = kind === 'container' ? 1 : 0;
    this.capString = kind === 'string';
    this.capEscape = false;
  }

  /** Scans a captured value from `i`; returns where scanning goes on (past its end, or the chunk's end). */
  private scanCapture(chunk: Buffer, i: number): number {
    const n = chunk.length;
    if (this.capKind === 'primitive') {
      for (; i < n; i++) {
        const b = chunk[i]!;
        if (isSpace(b) || b === COMMA || b === RBRACE || b === RBRACKET || b === COLON) {
          this.finishCapture(chunk, i);
          return i; // the delimiter is structural
        }
      }
      return n;
    }
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (this.capString) {
        if (this.capEscape) this.capEscape = false;
        else if (b === BACKSLASH) this.capEscape = true;
        else if (b === QUOTE) {
          this.capString = false;
          if (this.capKind === 'string') {
            this.finishCapture(chunk, i + 1);
            return i + 1;
          }
        }
        continue;
      }
      if (b === QUOTE) this.capString = true;
      else if (b === LBRACE || b === LBRACKET) this.capDepth++;
      else if (b === RBRACE || b === RBRACKET) {
        if (--this.capDepth === 0) {
          this.finishCapture(chunk, i + 1);
          return i + 1;
        }
      }
    }
    return n;
  }

  /** The captured value ends before `end` in `chunk`: parse it and place it. */
  private finishCapture(chunk: Buffer, end: number): void {
    const parts = this.capture!;
    parts.push(chunk.subarray(this.capStart, end));
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const at = this.capAt;
    this.capture = undefined;
    this.capStart = 0;
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new SyntaxError(`${(err as Error).message} (in the value at byte ${at} of the JSON text)`);
    }
    const top = this.stack[this.stack.length - 1];
    if (top && !top.array && top.want === 'key') {
      if (typeof value !== 'string') this.fail('expected a key', end);
      top.key = value;
      top.want = 'colon';
      return;
    }
    this.place(value);
  }

  private place(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.result = { value };
      return;
    }
    if (top.array) (top.value as unknown[]).push(value);
    else {
      const obj = top.value as Record<string, unknown>;
      // JSON.parse makes "__proto__" an own property; assignment would set the prototype.
      if (top.key === '__proto__') Object.defineProperty(obj, top.key, { value, writable: true, enumerable: true, configurable: true });
      else obj[top.key!] = value;
    }
    top.want = 'more';
  }

  private close(): void {
    const done = this.stack.pop()!;
    this.place(done.value);
  }
}
