/**
 * JSON too large for one string (src/json-stream.ts, issue 17): the pieces written are exactly
 * JSON.stringify's / canonicalJson's text, and a file read in chunks gives JSON.parse's value,
 * whatever the chunk boundaries (inside strings, escapes, multi-byte characters, numbers).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkedJsonParser, canonicalJsonPieces, readJsonFile, writeJsonPieces, writeJsonToFd } from '../src/json-stream.ts';
import { canonicalJson } from '../src/key.ts';
import { rng } from './fixtures/tokenizer/adversarial.ts';


const STRINGS = ['', 'a', 'é', '😀', '\ud800', 'line\nbreak', 'tab\t"quote"\\', '{"not":[json]}', ',:]}', '__proto__', 'constructor', 'ü'.repeat(40), ' ', '\u2028\u2029', '\u0000\u001f'];

function randomValue(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 4 || k < 0.35) {
    const p = r();
    if (p < 0.2) return STRINGS[Math.floor(r() * STRINGS.length)];
    if (p < 0.4) return Math.floor(r() * 2e6) - 1e6;
    if (p < 0.5) return (r() - 0.5) * 1e-7;
    if (p < 0.55) return 1e21 * r();
    if (p < 0.65) return r() < 0.5;
    if (p < 0.75) return null;
    return `s${Math.floor(r() * 1000)}${STRINGS[Math.floor(r() * STRINGS.length)]}`;
  }
  // Sometimes a long list, so the writer splits below depth 2 too.
  const n = depth < 3 && r() < 0.1 ? 70 + Math.floor(r() * 30) : Math.floor(r() * 5);
  if (k < 0.65) return Array.from({ length: n }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = r() < 0.2 ? STRINGS[Math.floor(r() * STRINGS.length)]! : r() < 0.1 ? String(Math.floor(r() * 20)) : `k${Math.floor(r() * 50)}`;
    if (key === '__proto__') Object.defineProperty(o, key, { value: randomValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
    else o[key] = randomValue(r, depth + 1);
  }
  return o;
}

const joined = (f: (sink: (p: string) => void) => void): string => {
  const parts: string[] = [];
  f((p) => parts.push(p));
  return parts.join('');
};

function parseInChunks(text: string, chunk: number): unknown {
  const bytes = Buffer.from(text, 'utf8');
  const p = new ChunkedJsonParser();
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  return p.end();
}

test('written pieces are JSON.stringify (indent 0 and 2) and canonicalJson, exactly', () => {
  const r = rng(17);
  for (let n = 0; n < 200; n++) {
    const v = randomValue(r, 0);
    for (const indent of [0, 2]) assert.is(joined((s) => writeJsonPieces(v, indent, s)), JSON.stringify(v, null, indent), `value ${n}, indent ${indent}`);
    assert.is(joined((s) => canonicalJsonPieces(v, s)), canonicalJson(v), `value ${n}, canonical`);
  }
  // What JSON.stringify leaves out or turns into null, split or not.
  const odd = { a: undefined, b: () => 1, c: [undefined, () => 1, NaN, Infinity], d: new Date(0), e: { toJSON: () => 'x' }, f: Array.from({ length: 100 }, (_, i) => (i % 2 ? undefined : i)) };
  for (const indent of [0, 2]) assert.is(joined((s) => writeJsonPieces(odd, indent, s)), JSON.stringify(odd, null, indent));
  assert.is(joined((s) => writeJsonPieces([], 2, s)), '[]');
  assert.is(joined((s) => writeJsonPieces({ a: {}, b: [] }, 2, s)), JSON.stringify({ a: {}, b: [] }, null, 2));
});

test('a text read in chunks of any size is JSON.parse of it (keys, escapes and UTF-8 cut anywhere)', () => {
  const r = rng(29);
  for (let n = 0; n < 150; n++) {
    const v = randomValue(r, 0);
    const text = JSON.stringify(v, null, n % 3 === 0 ? 2 : undefined);
    const want = JSON.parse(text);
    for (const chunk of n < 50 ? [1, 2, 3, 7, 64, 1 << 20] : [5, 64, 1 << 20]) {
      // Stringified again: values, key order and own "__proto__" keys compared (uvu's equal trips on such keys).
      assert.is(JSON.stringify(parseInChunks(text, chunk)), JSON.stringify(want), `value ${n}, chunks of ${chunk}`);
    }
  }
  // "__proto__" is an own key, as JSON.parse makes it, not the prototype.
  const proto = parseInChunks('{"__proto__": {"x": 1}, "a": [1, {"__proto__": 2}]}', 3) as Record<string, unknown>;
  assert.ok(Object.hasOwn(proto, '__proto__'));
  assert.is(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(JSON.stringify(proto), '{"__proto__":{"x":1},"a":[1,{"__proto__":2}]}');
  // Primitives and whitespace at the top.
  for (const t of ['0', ' -1.5e3 ', '"x"', 'true', 'null', ' [ ] ', '{ }', '[1,2 ,3]']) assert.equal(parseInChunks(t, 1), JSON.parse(t), t);
});

test('text that is not JSON is a SyntaxError with its byte offset, as JSON.parse refuses it', () => {
  for (const t of ['', '[1,]', '{"a":1,}', '{"a" 1}', '{1:2}', '[1 2]', '[1]]', '{"a":[1,2}', '[tru]', '[1] x', '{"a":"b', '[[1,]]', '[{"a":}]', ',']) {
    assert.throws(() => JSON.parse(t), undefined, `JSON.parse accepts ${t}`);
    for (const chunk of [1, 4]) {
      try {
        parseInChunks(t, chunk);
        assert.unreachable(`accepted ${JSON.stringify(t)}`);
      } catch (err) {
        assert.instance(err, SyntaxError, `${JSON.stringify(t)}: ${(err as Error).message}`);
      }
    }
  }
});

test('readJsonFile and writeJsonToFd: a file over the one-string size is read in chunks, the same value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-json-'));
  try {
    const r = rng(5);
    const value = { manifestVersion: 1, name: 'x', sources: Array.from({ length: 500 }, (_, i) => ({ name: `s${i}`, skipped: [{ path: `é/${i}`, code: 'FILE_MINIFIED' }], files: i, deep: randomValue(r, 2) })) };
    const f = join(dir, 'm.json');
    const fd = openSync(f, 'w');
    writeJsonToFd(fd, value);
    closeSync(fd);
    assert.is(readFileSync(f, 'utf8'), JSON.stringify(value, null, 2) + '\n');
    const whole = readJsonFile(f);
    const chunked = readJsonFile(f, { oneStringBytes: 0, chunkBytes: 333 });
    assert.is(JSON.stringify(chunked), JSON.stringify(value));
    assert.is(JSON.stringify(whole), JSON.stringify(value));
    writeFileSync(f, '{"a": [1, 2');
    assert.throws(() => readJsonFile(f, { oneStringBytes: 0, chunkBytes: 4 }), /ends early/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
