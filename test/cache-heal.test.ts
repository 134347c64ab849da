/**
 * Issue 18: the local cache heals itself. Each case damages a copy of a reference cache, then
 * builds (under a timeout: a hang fails the test) and checks the version, the warning or error
 * code, that a second build computes nothing, and that `cache verify` is clean. Random bytes over
 * data pages and shard blobs are left to the 20-trial sweep of every kind: bench/cache-damage.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { asBinary, open } from 'lmdb';
import { Project } from './helpers/project.ts';
import { copyCache, damage, retrace, seeded } from './helpers/damage.ts';
import { actionRecordProblem, inspectEnvironment, isEnvironmentError, itemStateProblem } from '../src/cache/lmdb-check.ts';
import { hashBytes, initHash } from '../src/hash.ts';

const p = new Project('retrace-heal-');
p.repo('app', {
  'index.js': "const a = require('./a');\nmodule.exports = () => a.value * 2;\n",
  'a.js': 'exports.value = 21;\n',
  'README.md': '# app\n',
});
p.config({ name: 'heal', format: 'raw', sources: [{ dir: 'repos/app' }], workers: 1 });
const REF = p.path('ref-cache');
let reference = '';
let trial = 0;

const T = 180_000;
const build = (cache: string, extra: string[] = [], env: Record<string, string> = {}) => retrace(p.dir, ['build', '--json', '--cache-dir', cache, '--out', p.path(`out-${trial}-${Math.random().toString(36).slice(2, 8)}`), ...extra], T, env);
const computedTotal = (s: any): number => Object.values(s.stages as Record<string, { computed: number }>).reduce((n, x) => n + x.computed, 0);

/**
 * A build that reads every item: an unchanged source is otherwise answered by its memo
 * (stages/source-memo.ts) without reading its items, so it would not meet the damage (see the
 * last test); `--recheck` trusts no stat stamp.
 */
const rereadBuild = (cache: string) => build(cache, ['--recheck']);

function fresh(): string {
  const c = p.path(`cache-${++trial}`);
  copyCache(REF, c);
  return c;
}

/** The second build after damage: reference version, nothing computed, verify clean. */
function assertHealed(cache: string): void {
  const again = build(cache);
  assert.is(again.timedOut, false, 'no hang');
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.version, reference);
  assert.is(computedTotal(again.json), 0, 'the second build computes nothing');
  const v = retrace(p.dir, ['cache', 'verify', '--json', '--cache-dir', cache], T);
  assert.is(v.code, 0, v.stderr);
  assert.is(v.json.ok, true);
}

test.before(async () => {
  await initHash();
  const r = build(REF);
  // (uvu reports a failing hook only as zero tests passed: say why.)
  if (r.code !== 0) console.error(`reference build failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
  assert.is(r.code, 0, r.stderr);
  reference = r.json.version;
});

test.after(() => p.cleanup());

test('schemas: records and item histories are checked field by field', () => {
  const parts = { stage: 'ingest', version: '1', inputs: {}, settings: {} };
  const h = 'a'.repeat(32);
  const rec = { format: 1, stage: 'ingest', item: 'x', output: h, refs: [h], parts, ms: 1, createdAt: 1, usedAt: 1 };
  assert.is(actionRecordProblem(rec), undefined);
  assert.match(actionRecordProblem(42)!, /number, not a record/);
  assert.match(actionRecordProblem(['a'])!, /list/);
  assert.match(actionRecordProblem({ ...rec, format: 'one' })!, /record format "one"/);
  assert.match(actionRecordProblem({ ...rec, refs: ['zz'] })!, /refs/);
  assert.match(actionRecordProblem({ ...rec, output: 7 })!, /output/);
  const st = { stage: 'ingest', item: 'x', key: h, parts, output: h, builtAt: 1 };
  assert.is(itemStateProblem(st), undefined, 'an item state from before the format tag');
  assert.is(itemStateProblem({ ...st, format: 1 }), undefined);
  assert.match(itemStateProblem({ ...st, format: 2 })!, /item format 2/);
  assert.match(itemStateProblem({ ...st, previous: { key: 'nope' } })!, /previous/);
  assert.is(isEnvironmentError(new Error('MDB_CORRUPTED: Located page was wrong type')), true);
  assert.is(isEnvironmentError(new Error('Unexpected end of buffer reading string')), false);
});

test('a truncated item history is dropped with CACHE_ENTRY_DROPPED naming key and stage', () => {
  const cache = fresh();
  const what = damage(cache, 'item-record', seeded(7));
  const r = rereadBuild(cache);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.version, reference, what);
  assert.match(r.stderr, /warning CACHE_ENTRY_DROPPED (\S+) (\S+): items entry read by stage \1 \(\2\) (item history|does not decode)/);
  assertHealed(cache);
});

test('a record of the wrong msgpack type is a miss, recomputed, never a failure', () => {
  const cache = fresh();
  damage(cache, 'wrong-type', seeded(3), 'graph');
  const r = rereadBuild(cache);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.version, reference);
  assert.match(r.stderr, /warning CACHE_ENTRY_DROPPED [0-9a-f]{32}: actions entry read by stage graph \(app\) record (is a|has)/);
  assert.is(computedTotal(r.json) >= 1, true);
  assertHealed(cache);
});

test('a corrupted file blob: the ingest result is recomputed, same version (not CACHE_CORRUPT)', () => {
  const cache = fresh();
  damage(cache, 'file-blob', seeded(11));
  const r = rereadBuild(cache);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /CACHE_CORRUPT/);
  assert.match(r.stderr, /warning CACHE_ENTRY_DROPPED [0-9a-f]{32}: blobs entry read by stage ingest \(app:[^)]+\) bytes do not re-hash/);
  assert.is(r.json.version, reference);
  assert.ok(r.json.stages.ingest.computed >= 1);
  assertHealed(cache);
});

test('an output that re-hashes but does not decode as its stage output: dropped by the executor', () => {
  const cache = fresh();
  const root = open({ path: join(cache, 'lmdb'), maxDbs: 8, mapSize: 2 ** 40 });
  const actions = root.openDB<any, string>({ name: 'actions', encoding: 'msgpack' });
  const blobs = root.openDB<Buffer, string>({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
  const bad = new TextEncoder().encode('{"not": "a graph"');
  const h = hashBytes(bad);
  blobs.putSync(h, Buffer.from(bad));
  const graph = [...actions.getRange({})].find((e) => e.value.stage === 'graph')!;
  actions.putSync(graph.key, { ...graph.value, output: h });
  void root.close();
  const r = rereadBuild(cache);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.version, reference);
  assert.match(r.stderr, new RegExp(`warning CACHE_ENTRY_DROPPED ${graph.key}: actions entry read by stage graph \\(app\\) output ${h} does not decode as graph output`));
  assertHealed(cache);
});

test('damaged meta page: refused at open with CACHE_DAMAGED and the way out; verify --repair salvages', () => {
  const cache = fresh();
  const data = join(cache, 'lmdb', 'data.mdb');
  // Page 1's magic number (offset 4096 + 24).
  const fd = openSync(data, 'r+');
  writeSync(fd, Buffer.from([1, 2, 3, 4]), 0, 4, 4096 + 24);
  closeSync(fd);
  assert.is(inspectEnvironment(join(cache, 'lmdb'))?.kind, 'meta');
  const r = build(cache);
  assert.is(r.code, 1);
  assert.match(r.stderr, /error CACHE_DAMAGED .*lmdb: the cache cannot be opened: .*damaged meta page: page 1: bad magic number .*retrace cache verify --repair.*--repair-cache/);
  const v = retrace(p.dir, ['cache', 'verify', '--cache-dir', cache], T);
  assert.is(v.code, 3);
  const fix = retrace(p.dir, ['cache', 'verify', '--repair', '--json', '--cache-dir', cache], T);
  assert.is(fix.code, 0, fix.stderr);
  assert.is(fix.json.repaired.environment.mode, 'salvaged');
  assert.ok(fix.json.repaired.environment.salvaged.blobs > 0);
  assert.ok(existsSync(fix.json.repaired.environment.movedAside), 'the damaged environment is kept aside');
  const b1 = build(cache);
  assert.is(b1.code, 0, b1.stderr);
  assert.is(b1.json.version, reference);
  assert.is(computedTotal(b1.json), 0, 'everything was salvaged');
  assertHealed(cache);
});

test('truncated file: build --repair-cache repairs it itself', () => {
  const cache = fresh();
  damage(cache, 'truncate', seeded(9));
  const r = build(cache);
  assert.is(r.code, 1);
  assert.match(r.stderr, /error CACHE_DAMAGED .*is truncated/);
  const b = build(cache, ['--repair-cache']);
  assert.is(b.code, 0, b.stderr);
  assert.match(b.stderr, /warning CACHE_REPAIRED .*lmdb: (salvaged|started a fresh cache)/);
  assert.is(b.json.version, reference);
  assertHealed(cache);
});

test('a file that is not LMDB at all: refused, then repaired by starting fresh', () => {
  const cache = p.path(`cache-${++trial}`);
  mkdirSync(join(cache, 'lmdb'), { recursive: true });
  writeFileSync(join(cache, 'lmdb', 'data.mdb'), Buffer.alloc(20000, 0x41));
  const r = build(cache);
  assert.is(r.code, 1);
  assert.match(r.stderr, /error CACHE_DAMAGED .*not an LMDB file/);
  const b = build(cache, ['--repair-cache']);
  assert.is(b.code, 0, b.stderr);
  assert.match(b.stderr, /warning CACHE_REPAIRED .*started a fresh cache/);
  assert.is(b.json.version, reference);
  assert.ok(readdirSync(cache).some((f) => f.startsWith('lmdb-damaged-')));
  assertHealed(cache);
});

test('a writer killed holding the write lock: the next build neither hangs nor fails', () => {
  const cache = fresh();
  const what = damage(cache, 'stale-lock', seeded(1));
  assert.match(what, /SIGKILL/);
  const r = build(cache);
  assert.is(r.timedOut, false);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.version, reference);
  assertHealed(cache);
});

test('an undecodable item written through the raw API does not stop `explain` or `status`', () => {
  const cache = fresh();
  const root = open({ path: join(cache, 'lmdb'), maxDbs: 8, mapSize: 2 ** 40 });
  const items = root.openDB<any, string>({ name: 'items', encoding: 'msgpack' });
  const key = [...items.getKeys({})][0] as string;
  items.putSync(key, asBinary(Buffer.from([0xdc, 0xff])));
  void root.close();
  const st = retrace(p.dir, ['status', '--json', '--cache-dir', cache], T);
  assert.ok(st.code === 0 || st.code === 3, st.stderr);
  assert.not.match(st.stderr, /INTERNAL|STAGE_FAILED/);
});

test('an unchanged source is answered by its memo without reading its items; --recheck reads them and heals', () => {
  const cache = fresh();
  damage(cache, 'file-blob', seeded(11));
  const quiet = build(cache);
  assert.is(quiet.code, 0, quiet.stderr);
  assert.is(quiet.json.version, reference);
  assert.is(quiet.json.stages.source.cached, 1, 'the memo answered the repository');
  assert.is(quiet.json.stages.ingest.computed, 0);
  assert.ok(quiet.json.stages.ingest.cached >= 3, 'its items count as cached');
  assert.not.match(quiet.stderr, /CACHE_ENTRY_DROPPED/, 'no item was read');
  const r = build(cache, ['--recheck']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning CACHE_ENTRY_DROPPED [0-9a-f]{32}: blobs entry read by stage ingest \(app:[^)]+\) bytes do not re-hash/);
  assert.is(r.json.version, reference);
  assert.ok(r.json.stages.ingest.computed >= 1);
  assertHealed(cache);
});

test.run();
