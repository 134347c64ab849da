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

/** isTextCandidate's content checks as they were: decode the whole file (fatal), then measure its lines in characters. */
function decodedVerdict(bytes: Uint8Array, maxLineLength: number): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'FILE_INVALID_UTF8 content is not valid UTF-8';
  }
  let longest = 0;
  let lines = 0;
  for (let start = 0; start <= text.length; lines++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    longest = Math.max(longest, end - start);
    start = end + 1;
  }
  if (longest > maxLineLength) return `FILE_MINIFIED a line of ${longest} characters > maxLineLength ${maxLineLength}`;
  const average = text.length / lines;
  if (bytes.length > 5 * 1024 && average > 300) return `FILE_MINIFIED average line length ${Math.round(average)} > 300`;
  return undefined;
}

test('the checks on bytes give the verdicts (and reasons) of decoding the text: 3,000 random files', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  // Characters of 1 to 4 UTF-8 bytes (a 4-byte one is two UTF-16 units), a BOM, and broken sequences.
  const pieces = ['a', ' ', 'é', '€', '世', '😀', '\ufeff'].map((c) => enc(c));
  const broken = [[0x80], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0xff]].map((b) => new Uint8Array(b));
  for (let c = 0; c < 3000; c++) {
    // Every 4th file: lines of about 300 characters (some of them 2-byte) in a file over 5 KB,
    // under a higher line limit, so the average decides (its bytes can pass 300 while its characters do not).
    if (c % 4 === 3) {
      const lines: string[] = [];
      for (let n = 0; lines.join('\n').length < 6000; n++) lines.push('x'.repeat(250 + rand(60)) + 'é'.repeat(rand(60)));
      const bytes = enc(lines.join('\n'));
      const got = isTextCandidate('f.js', bytes, { ...DEFAULT_LIMITS, maxLineLength: 1000 });
      assert.is(got ? `${got.code} ${got.reason}` : undefined, decodedVerdict(bytes, 1000), `case ${c}`);
      continue;
    }
    const maxLineLength = 20 + rand(60);
    const parts: Uint8Array[] = [];
    let size = 0;
    const target = rand(4) === 0 ? 5 * 1024 + rand(4000) : rand(400);
    while (size < target) {
      const r = rand(100);
      const p = r < 8 ? enc('\n') : r === 99 && c % 5 === 0 ? broken[rand(broken.length)]! : pieces[r < 60 ? 0 : r < 70 ? 1 : 2 + rand(pieces.length - 2)]!;
      // Long lines now and then: whole lines around the limit, in bytes and in characters.
      const q = r === 98 ? enc('\n' + 'é'.repeat(maxLineLength - 2 + rand(5))) : r === 97 ? enc('\n' + 'x'.repeat(maxLineLength - 2 + rand(5))) : p;
      parts.push(q);
      size += q.length;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const got = isTextCandidate('f.js', bytes, { ...DEFAULT_LIMITS, maxLineLength });
    assert.is(got ? `${got.code} ${got.reason}` : undefined, decodedVerdict(bytes, maxLineLength), `case ${c}`);
  }
});

test.run();
