/**
 * A warm build from a shared cache (issue 17), through the real `retrace` binary against a
 * shared directory (file://): the repositories' memos answer their chains after checking, in
 * bulk, that the remote holds the chains' records (the pushed version's packs list them), so
 * the fresh machine lands only the records it reads. Its cache still verifies; a version it
 * builds on top pushes (the records left on the remote are checked there, not sent again) and
 * pulls whole; local gc and a rebuild work. A record the remote lost (remote gc evicts it, and
 * with it the packs listing it) makes that repository's memo miss and its chain run: computed
 * where needed, no error; so does a document blob it lost (the memo's refs name them).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Project, computed } from './helpers/project.ts';
import { initHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { rootKey } from '../src/cache/closure.ts';

const p = new Project('retrace-warm-');
p.repo('alpha', {
  'package.json': JSON.stringify({ name: 'alpha', main: 'index.js' }),
  'index.js': "const { add } = require('./lib/util');\nmodule.exports = (xs) => xs.reduce(add, 0);\n",
  'lib/util.js': 'exports.add = (a, b) => a + b;\n',
  'lib/mul.js': 'exports.mul = (a, b) => a * b;\n',
});
p.repo('beta', {
  'src/main.mjs': "import { greet } from './greet.mjs';\nconsole.log(greet('world'));\n",
  'src/greet.mjs': 'export const greet = (n) => `hello ${n}`;\n',
});
const shared = p.path('nfs');
const base = { name: 'warm', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }], workers: 2 };
const url = pathToFileURL(shared).href;
p.config({ ...base, cache: { remote: { url, mode: 'off' } } }, 'off.config.ts');
p.config({ ...base, cache: { remote: { url, mode: 'read-only' } } }, 'ro.config.ts');
p.config({ ...base, cache: { remote: { url, mode: 'read-write' } } }, 'rw.config.ts');

// Memos keyed by machine-local stat stamps may be made again; nothing else may compute.
const zero = (summary: any) => Object.entries(computed(summary)).every(([stage, n]) => n === 0 || stage === 'hygiene-scan' || stage === 'source');
const CHAIN = ['ingest', 'parse', 'graph', 'render', 'tokenize'];
let v1: string;

function run(args: string[], cache: string, cfg: string, out = 'out') {
  const r = p.run([...args, '--json', '--config', cfg], { cacheDir: p.path(cache), outDir: p.path(`${out}-${cache}`) });
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  return r;
}

/** The action records a local cache holds, by stage. */
async function localStages(cache: string): Promise<Record<string, number>> {
  const c = LmdbCache.open(p.path(cache));
  try {
    return (await c.stats()).byStage;
  } finally {
    await c.close();
  }
}

/** The remote's records, with their files. */
function remoteRecords(): Array<{ file: string; rec: { stage: string; item: string } }> {
  const out = [];
  for (const d of readdirSync(join(shared, 'ac'))) for (const f of readdirSync(join(shared, 'ac', d))) out.push({ file: join(shared, 'ac', d, f), rec: JSON.parse(readFileSync(join(shared, 'ac', d, f), 'utf8')) });
  return out;
}

test.before(() => initHash());

test('a warm build answers from the memos and lands only the records it reads; its cache verifies', async () => {
  const a = run(['build'], 'cacheA', 'off.config.ts');
  v1 = a.json.version;
  const pushed = run(['cache', 'push'], 'cacheA', 'off.config.ts');
  assert.ok(pushed.json.actions > 10);
  const onA = await localStages('cacheA');
  const b = run(['build'], 'cacheB', 'ro.config.ts');
  assert.is(b.json.version, v1);
  assert.ok(zero(b.json), JSON.stringify(computed(b.json)));
  assert.is(b.json.stages['source-content'].cached + b.json.stages.source.cached, 2, 'both repositories answered by a memo');
  const onB = await localStages('cacheB');
  for (const stage of CHAIN) assert.ok(onA[stage] > 0, `A holds ${stage} records`);
  // The chains' records stay on the remote: B read none of them (the memos answered).
  for (const stage of CHAIN) assert.is(onB[stage] ?? 0, 0, `${stage}: ${JSON.stringify(onB)}`);
  const v = run(['cache', 'verify'], 'cacheB', 'ro.config.ts');
  assert.is(v.json.ok, true, JSON.stringify(v.json));
  // The version's root is B's own, and lists the chains' keys (push and pins walk it).
  const c = LmdbCache.open(p.path('cacheB'));
  assert.ok(await c.getAction(rootKey('warm', v1.split('/').pop()!)));
  await c.close();
});

test('after a warm build: a new version is pushed (records left on the remote are checked there), pulled whole, rebuilt; local gc works', () => {
  p.write('repos/alpha/lib/mul.js', 'exports.mul = (a, b) => b * a;\n');
  const b2 = run(['build'], 'cacheB', 'rw.config.ts');
  assert.is.not(b2.json.version, v1);
  assert.ok(computed(b2.json).ingest >= 1);
  const push = run(['cache', 'push'], 'cacheB', 'rw.config.ts');
  assert.is(push.json.version, `warm/${b2.json.version}`);
  assert.ok(push.json.actionsMoved < push.json.actions, JSON.stringify(push.json));
  // A third machine pulls the new version whole (from its packs and records) and builds it offline.
  const pull = run(['cache', 'pull'], 'cacheC', 'off.config.ts');
  assert.is(pull.json.unavailable, 0);
  assert.is(pull.json.actionsMoved, pull.json.actions);
  const c = run(['build'], 'cacheC', 'off.config.ts');
  assert.is(c.json.version, b2.json.version);
  assert.ok(zero(c.json), JSON.stringify(computed(c.json)));
  // Local gc on the warm machine, then a warm rebuild there.
  const gc = run(['cache', 'gc', '--max-age', '0s'], 'cacheB', 'rw.config.ts');
  assert.ok(gc.json.actionsRemoved >= 0);
  const again = run(['build'], 'cacheB', 'ro.config.ts');
  assert.is(again.json.version, b2.json.version);
  assert.ok(zero(again.json), JSON.stringify(computed(again.json)));
  p.write('repos/alpha/lib/mul.js', 'exports.mul = (a, b) => a * b;\n');
});

test('a record the remote lost: remote gc evicts it and the packs naming it; the memo misses and the chain recomputes it, no error', () => {
  // v1 again, pushed as the remote's latest.
  run(['build'], 'cacheA', 'off.config.ts');
  run(['cache', 'push'], 'cacheA', 'off.config.ts');
  const lost = remoteRecords().find((r) => r.rec.stage === 'parse' && r.rec.item === 'alpha:lib/util.js');
  assert.ok(lost, 'a parse record of alpha on the remote');
  // Damaged beyond reading: remote gc evicts it (a long --max-age: nothing else goes).
  writeFileSync(lost!.file, 'not a record');
  const gc = run(['cache', 'gc', '--remote', '--max-age', '1000d'], 'cacheG', 'rw.config.ts');
  assert.ok(gc.json.remote.actionsRemoved >= 1, JSON.stringify(gc.json.remote));
  assert.ok(gc.json.remote.packsRemoved >= 1, 'the packs listing it went too');
  const d = run(['build'], 'cacheD', 'ro.config.ts');
  assert.is(d.json.version, v1);
  assert.is(d.json.failures?.length ?? 0, 0);
  assert.is(computed(d.json).parse, 1, JSON.stringify(computed(d.json)));
  assert.ok(d.json.stages.source.computed + d.json.stages['source-content'].computed >= 1, 'alpha\'s memo missed');
});

test('a document blob the remote lost: the memos that name it miss and the chain makes it again, no error', () => {
  const memo = remoteRecords().find((r) => r.rec.stage === 'source-content' && r.rec.item.includes('alpha')) as { rec: { refs: string[] } } | undefined;
  assert.ok(memo && memo.rec.refs.length >= 3, 'the memo names its documents\' blobs');
  for (const h of memo!.rec.refs) rmSync(join(shared, 'cas', h.slice(0, 2), h), { force: true });
  const e = run(['build'], 'cacheE', 'ro.config.ts');
  assert.is(e.json.version, v1);
  assert.is(e.json.failures?.length ?? 0, 0);
  assert.ok(computed(e.json).tokenize >= 1, JSON.stringify(computed(e.json)));
});

test.after(() => p.cleanup());
test.run();
