/**
 * files.maxFileBytes (issue 19): a raised limit is honoured (a 1.7 MB JavaScript file is parsed,
 * tokenized and shipped, where it used to crash the whole build), a limit over the parser's
 * ceiling is refused at config time with a reason, and files over the limit are skipped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_FILE_BYTES_CEILING } from '../stages/ingest/types.ts';
import { Project } from './helpers/project.ts';

const p = new Project('retrace-limits-');
const big = "import { one } from './small.js';\n" + Array.from({ length: 40_000 }, (_, i) => `export function f${i}(a) { return a + ${i}; }`).join('\n') + '\n';
p.repo('big', { 'src/big.js': big, 'src/small.js': 'export const one = 1;\n' });
const base = { name: 'limits', format: 'raw', sources: [{ dir: 'repos/big' }], workers: 1 };

test('a raised limit is honoured: a 1.7 MB JS file is built, not thrown', () => {
  assert.ok(big.length > 1.5 * 2 ** 20);
  p.config({ ...base, files: { maxFileBytes: 4 * 2 ** 20 } });
  const r = p.run(['build', '--json'], { cacheDir: p.path('cache'), outDir: p.path('out') });
  assert.is(r.code, 0, r.stderr.slice(-2000));
  assert.equal(r.json.failures, []);
  assert.is(r.json.stages.parse.items, 2);
  assert.ok(r.json.tokens > 400_000, `only ${r.json.tokens} tokens`);
});

test('the default limit skips it (FILE_TOO_LARGE) and builds the rest', () => {
  p.config(base);
  const r = p.run(['build', '--json'], { cacheDir: p.path('cache'), outDir: p.path('out') });
  assert.is(r.code, 0, r.stderr.slice(-2000));
  assert.is(r.json.stages.parse.items, 1);
});

test('a limit over the ceiling is refused at config time, naming the setting and the reason', () => {
  p.config({ ...base, files: { maxFileBytes: MAX_FILE_BYTES_CEILING + 1 } });
  const r = p.run(['build', '--json'], { cacheDir: p.path('cache'), outDir: p.path('out') });
  assert.is.not(r.code, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /CONFIG_INVALID/);
  assert.match(out, /config\.files\.maxFileBytes/);
  assert.match(out, /parsed and tokenized whole/);
  assert.not.match(out, /at .*\.js:\d+/, 'a stack trace instead of a clear error');
});

test.after(() => p.cleanup());
test.run();
