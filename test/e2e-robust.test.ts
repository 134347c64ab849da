/**
 * Bad input and hard stops, through the real binary: every problem is reported with its code and
 * item, the build goes on for the rest, and nothing corrupts the cache or a dataset.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Project } from './helpers/project.ts';

const p = new Project();

test('bad files are skipped with reasons, bad sources fail alone, the rest builds', () => {
  p.repo('good', {
    'index.js': "module.exports = require('./a');\n",
    'a.js': 'module.exports = 1;\n',
    'bad-utf8.js': new Uint8Array([0x2f, 0x2f, 0x20, 0xc3, 0x28, 0x0a]),
    'image.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]),
    'broken.js': 'function ( {\n  return ;;; }\n',
    'big.js': '// ' + 'x'.repeat(3000) + '\n',
  });
  writeFileSync(p.path('outside-secret.txt'), 'secret\n');
  symlinkSync(p.path('outside-secret.txt'), p.path('repos/good/leak.txt'));
  execFileSync('mkfifo', [p.path('repos/good/pipe.js')]);
  mkdirSync(p.path('repos/empty/node_modules/x'), { recursive: true });
  writeFileSync(p.path('repos/empty/node_modules/x/index.js'), 'module.exports = 1;\n');
  p.config({
    name: 'robust',
    format: 'raw',
    sources: [{ dir: 'repos/good' }, { dir: 'repos/empty' }, { dir: 'repos/missing' }],
    files: { maxFileBytes: 2000 },
    workers: 1,
  });
  const r = p.run(['build', '--json']);
  assert.is(r.code, 3, 'exit 3: built, with failures');
  const s = r.json;
  assert.is(s.documents, 1);
  const codes = s.failures.map((f: any) => f.code).sort();
  assert.equal(codes, ['SOURCE_EMPTY', 'SOURCE_NOT_FOUND']);
  const missing = s.failures.find((f: any) => f.code === 'SOURCE_NOT_FOUND');
  assert.match(missing.item, /sources\[2\]/);
  const manifest = JSON.parse(readFileSync(join(s.path, 'manifest.json'), 'utf8')); // partial: `latest` did not move (issue 16)
  const skipped = Object.fromEntries(manifest.sources[0].skipped.map((x: any) => [x.path, x.code]));
  assert.is(skipped['bad-utf8.js'], 'FILE_INVALID_UTF8');
  assert.is(skipped['image.png'], 'FILE_BINARY');
  assert.is(skipped['leak.txt'], 'FILE_SYMLINK_OUTSIDE');
  assert.is(skipped['big.js'], 'FILE_TOO_LARGE');
  assert.is(skipped['pipe.js'], 'FILE_UNREADABLE');
  assert.is(manifest.sources[1].excluded.code, 'SOURCE_EMPTY');
  // The file with syntax errors is still part of the document: tree-sitter recovers.
  assert.is(manifest.sources[0].files, 3);
  // Human output names each failure with its code and what to do.
  const text = p.run(['build']);
  assert.match(text.stdout, /SOURCE_NOT_FOUND .*sources\[2\]/);
  assert.match(text.stdout, /SOURCE_EMPTY/);
});

test('every missing source is reported on its own; usage mistakes exit 2', () => {
  const cfg = p.config({ name: 'two', format: 'raw', sources: [{ dir: 'repos/good' }, { dir: 'repos/nope1' }, { dir: 'repos/nope2' }], workers: 1 }, 'two.config.ts');
  const r = p.run(['build', '--json', '--config', cfg]);
  assert.is(r.code, 3);
  assert.equal(r.json.failures.map((f: any) => f.item), ['sources[1] repos/nope1', 'sources[2] repos/nope2']);
  assert.match(r.stderr, /error SOURCE_NOT_FOUND sources\[1\] repos\/nope1: /);
  for (const args of [['build', '--shard', '3/2'], ['build', '--workers', '0'], ['cache', 'gc'], ['show', 'nosuchstage', 'x'], ['bogus']]) {
    const u = p.run([...args, '--config', cfg]);
    assert.is(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, /USAGE/);
  }
});

test("a source that contains the build's own cache and datasets never reads them back", () => {
  const q = new Project('retrace-self-');
  try {
    q.write('lib/a.js', 'module.exports = 1;\n');
    q.config({ name: 'self', format: 'raw', sources: [{ dir: '.' }], workers: 1 });
    const a = q.run(['build', '--json']);
    assert.is(a.code, 0, a.stderr);
    const b = q.run(['build', '--json', '--recheck']);
    assert.is(b.code, 0, b.stderr);
    assert.is(b.json.version, a.json.version, 'the first build did not become input of the second');
    const manifest = JSON.parse(q.read(`datasets/self/${a.json.version}/manifest.json`));
    assert.is(manifest.sources[0].files, 2, 'lib/a.js and pipeline.config.ts only');
  } finally {
    q.cleanup();
  }
});

test('a config with a wrong type is refused with the path of the bad value', () => {
  const cfg = p.config({ name: 'x', format: 'raw', sources: [{ dir: 'repos/good' }], output: { seqLen: 'long' } }, 'bad.config.ts');
  const r = p.run(['build', '--config', cfg]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /CONFIG_INVALID .*config\.output\.seqLen/);
  assert.match(r.stderr, /expected an integer/);
  const unknown = p.config({ name: 'x', format: 'raw', sources: [{ dir: 'repos/good' }], sorces: [] }, 'typo.config.ts');
  const u = p.run(['build', '--config', unknown]);
  assert.is(u.code, 1);
  assert.match(u.stderr, /config\.sorces.*unknown key/);
  const none = p.run(['build', '--config', p.path('nope.config.ts')]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /CONFIG_NOT_FOUND/);
  assert.not.ok(existsSync(p.path('datasets/x')), 'nothing written for a refused config');
});

test('kill -9 in the middle of a build: the next build completes, reuses work, same version', async () => {
  // A corpus large enough that a build is far from done after 150 stored items (about 160 files,
  // 3 items each at least): real packages from node_modules.
  const nm = join(process.cwd(), 'node_modules');
  const cfg = p.config({
    name: 'killed',
    format: 'raw',
    sources: ['yargs-parser', 'piscina', 'uvu'].map((n) => ({ dir: join(nm, n) })),
    workers: 2,
  }, 'kill.config.ts');
  const cacheDir = p.path('kill-cache');
  const args = ['build', '--json', '--config', cfg, '--cache-dir', cacheDir, '--out', p.path('kill-out')];
  const { child, done, waitForEvents } = p.spawn([...args, '--events']);
  // Kill it without warning once it has stored some work (an `item` event follows each stored result).
  await waitForEvents((e) => e.event === 'item' && e.cached === false, 150, 60_000);
  child.kill('SIGKILL');
  const killed = await done;
  assert.is.not(killed.code, 0, 'the build was killed before it finished');
  const verify1 = p.run(['cache', 'verify', '--json'], { cacheDir });
  assert.is(verify1.json.ok, true, verify1.stdout);
  const again = p.run(args);
  assert.is(again.code, 0, again.stderr);
  const reused = Object.values(again.json.stages as Record<string, { cached: number }>).reduce((n, s) => n + s.cached, 0);
  assert.ok(reused > 0, 'work finished before the kill is reused');
  const clean = p.run(['build', '--json', '--config', cfg, '--cache-dir', p.path('clean-cache'), '--out', p.path('clean-out')]);
  assert.is(clean.code, 0, clean.stderr);
  assert.is(again.json.version, clean.json.version);
  const verify2 = p.run(['cache', 'verify', '--json'], { cacheDir });
  assert.is(verify2.json.ok, true);
});

test.after(() => p.cleanup());
test.run();
