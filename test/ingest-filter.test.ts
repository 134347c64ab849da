import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LIMITS, isTextCandidate } from '../stages/ingest/sources.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const code = (path: string, bytes: Uint8Array, limits = DEFAULT_LIMITS) => isTextCandidate(path, bytes, limits)?.code;

test('ordinary source text passes', () => {
  assert.is(isTextCandidate('src/index.js', enc('export const a = 1;\n'), DEFAULT_LIMITS), undefined);
  assert.is(code('README.md', enc('héllo wörld ✓ 𝔘\n')), undefined);
  assert.is(code('empty.txt', new Uint8Array(0)), undefined);
});

test('vendored directories, by any path segment', () => {
  const skip = isTextCandidate('a/node_modules/x/index.js', enc('x'), DEFAULT_LIMITS);
  assert.is(skip?.code, 'FILE_VENDORED');
  assert.match(skip!.reason, 'a/node_modules/');
  assert.is(code('bower_components/y.js', enc('x')), 'FILE_VENDORED');
  assert.is(code('node_modules', enc('x')), undefined, 'a file named like a vendored dir is not vendored');
});

test('generated bundles by name', () => {
  assert.is(code('dist/app.min.js', enc('x')), 'FILE_MINIFIED');
  assert.is(code('dist/app.bundle.js', enc('x')), 'FILE_MINIFIED');
  assert.is(code('dist/app.js.map', enc('{}')), 'FILE_MINIFIED');
  assert.is(code('src/minimal.js', enc('x')), undefined);
});

test('binary by extension or by a NUL byte', () => {
  assert.is(code('logo.PNG', enc('not really a png')), 'FILE_BINARY');
  assert.is(code('data.txt', new Uint8Array([65, 66, 0, 67])), 'FILE_BINARY');
  const lateNul = enc('abc\n'.repeat(2_500));
  lateNul[9_001] = 0;
  assert.is(code('late.txt', lateNul), undefined, 'like git, only the first 8 KB are sniffed');
});

test('invalid UTF-8', () => {
  assert.is(code('latin1.js', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a])), 'FILE_INVALID_UTF8');
  assert.is(code('truncated.js', new Uint8Array([0xe2, 0x82])), 'FILE_INVALID_UTF8');
});

test('too large', () => {
  const limits = { ...DEFAULT_LIMITS, maxFileBytes: 10 };
  assert.is(code('a.js', enc('12345678901'), limits), 'FILE_TOO_LARGE');
  assert.is(code('a.js', enc('1234567890'), limits), undefined);
});

test('minified: one very long line, or a high average on larger files', () => {
  const limits = { ...DEFAULT_LIMITS, maxLineLength: 100 };
  assert.is(code('a.js', enc('x'.repeat(101)), limits), 'FILE_MINIFIED');
  assert.is(code('a.js', enc('x'.repeat(100) + '\n' + 'y'.repeat(100)), limits), undefined);
  const dense = enc(('z'.repeat(400) + '\n').repeat(20));
  assert.is(code('b.js', dense), 'FILE_MINIFIED');
  assert.is(code('c.js', enc(('z'.repeat(400) + '\n').repeat(5))), undefined, 'average check only above 5 KB');
});

test.run();
