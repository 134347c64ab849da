/**
 * Sharing without a server, through the real `retrace` binary: a shared directory remote
 * (file://), export/import of a version as one file, and garbage collection that keeps pinned
 * versions whole while evicting the rest.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Project, computed } from './helpers/project.ts';

const p = new Project('retrace-share-');
p.repo('alpha', {
  'package.json': JSON.stringify({ name: 'alpha', main: 'index.js' }),
  'index.js': "const { add } = require('./lib/util');\nmodule.exports = (xs) => xs.reduce(add, 0);\n",
  'lib/util.js': 'exports.add = (a, b) => a + b;\n',
});
p.repo('beta', {
  'src/main.mjs': "import { greet } from './greet.mjs';\nconsole.log(greet('world'));\n",
  'src/greet.mjs': 'export const greet = (n) => `hello ${n}`;\n',
});
const shared = p.path('nfs');
const base = { name: 'share', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }], workers: 2 };
p.config(base);
p.config({ ...base, cache: { remote: { url: pathToFileURL(shared).href } } }, 'dir.config.ts');

// Nothing computed, but for the memos keyed by the sources' stat stamps (mtime, ctime, inode),
// which an edited-then-restored file or another machine changes: `hygiene-scan` (the hygiene pass)
// and `source` (a repository's chain), re-made from cached items.
const zero = (summary: any) => Object.entries(computed(summary)).every(([stage, n]) => n === 0 || stage === 'hygiene-scan' || stage === 'source');
let v1: string;

function run(args: string[], cache: string, cfg = 'pipeline.config.ts') {
  const r = p.run([...args, '--json', '--config', cfg], { cacheDir: p.path(cache), outDir: p.path('out') });
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r.json;
}

test('a shared directory remote: A builds read-write, B builds from it computing nothing', () => {
  const a = run(['build'], 'cacheA', 'dir.config.ts');
  v1 = a.version;
  assert.ok(a.remote.actionsSent > 0);
  // Immutable files, written under a temporary name then renamed: no temporary is left behind.
  const leftovers = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? leftovers(join(dir, n)) : n.endsWith('.tmp') ? [n] : []));
  assert.equal(leftovers(shared), []);
  assert.ok(existsSync(join(shared, 'cas')) && existsSync(join(shared, 'ac')));
  const b = run(['build'], 'cacheB', 'dir.config.ts');
  assert.is(b.version, v1);
  assert.ok(zero(b), JSON.stringify(computed(b)));
  assert.ok(b.remote.actionsFetched > 0);
});

test('export and import: a fresh cache rebuilds the version computing nothing', () => {
  const file = p.path('v1.tgz');
  const ex = run(['cache', 'export', file, '--version', v1], 'cacheA');
  assert.is(ex.version, `share/${v1}`);
  assert.ok(existsSync(file));
  const im = run(['cache', 'import', file], 'cacheI');
  assert.is(im.length, 1);
  assert.is(im[0].unavailable, 0);
  assert.is(im[0].actionsMoved, im[0].actions);
  const c = run(['build'], 'cacheI');
  assert.is(c.version, v1);
  assert.ok(zero(c), JSON.stringify(computed(c)));
});

test('gc with a tiny size limit keeps pinned versions whole and evicts the rest', () => {
  const pin = run(['dataset', 'pin', v1], 'cacheA');
  assert.is(pin.version, `share/${v1}`);
  assert.is(pin.known, true);
  p.write('repos/alpha/lib/util.js', 'exports.add = (a, b) => b + a;\n');
  const v2 = run(['build'], 'cacheA');
  assert.is.not(v2.version, v1);
  // --no-keep-latest: only pins protect (by default gc also keeps each dataset's latest version).
  const gc = run(['cache', 'gc', '--max-size', '1B', '--no-keep-latest'], 'cacheA');
  assert.equal(gc.pinned, [`share/${v1}`]);
  assert.ok(gc.actionsRemoved > 0 && gc.blobsRemoved > 0);
  // v2 is unpinned: its own results are gone and come back only by computing.
  const again = run(['build'], 'cacheA');
  assert.is(again.version, v2.version);
  assert.ok(again.stages.ingest.computed >= 1 && again.stages.shard.computed === 1, JSON.stringify(computed(again)));
  // v1 is pinned: it rebuilds with nothing computed.
  p.write('repos/alpha/lib/util.js', 'exports.add = (a, b) => a + b;\n');
  const back = run(['build'], 'cacheA');
  assert.is(back.version, v1);
  assert.ok(zero(back), JSON.stringify(computed(back)));
  // Unpinned, everything may go.
  run(['dataset', 'unpin', v1], 'cacheA');
  const all = run(['cache', 'gc', '--max-size', '1B', '--no-keep-latest'], 'cacheA');
  assert.equal(all.pinned, []);
  assert.is(run(['cache', 'stats'], 'cacheA').actions, 0);
});

test.after(() => p.cleanup());
test.run();
