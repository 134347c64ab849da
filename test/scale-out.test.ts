/**
 * Scale-out through the real binary: N partition workers (separate local caches, one shared
 * `file://` cache, like machines of a cluster) and a merge give the same version, byte for byte,
 * as one machine; a killed worker is simply run again; a new source only touches its partition.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Project } from './helpers/project.ts';
import { startLlmServer } from './helpers/llm-server.ts';
import { jsonAnswer, successes, FIXTURES } from './fixtures/trajectory/harness.ts';
import { resolvePartition } from '../src/partition.ts';
import { partitionOf } from '../stages/pipeline.ts';

const p = new Project('retrace-scale-');
const names = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox'];
for (const [i, n] of names.entries()) {
  p.repo(n, {
    'package.json': JSON.stringify({ name: n, main: 'index.js' }),
    'index.js': `const util = require('./util');\nmodule.exports = function ${n}(x) {\n  return util.twice(x) + ${i};\n};\n`,
    'util.js': `exports.twice = function twice(x) {\n  return 2 * x; // ${n}\n};\n`,
  });
}
const shared = `file://${p.path('shared')}`;
const sources = names.map((n) => ({ dir: `repos/${n}` }));
const cfg = (extra: Record<string, unknown> = {}, file = 'pipeline.config.ts') =>
  p.config({ name: 'scaled', format: 'raw', sources, workers: 1, cache: { remote: { url: shared, mode: 'read-write' } }, ...extra }, file);

async function workers(count: number, config: string, tag: string): Promise<any[]> {
  const runs = Array.from({ length: count }, (_, i) =>
    p.spawn(['build', '--json', '--shard', `${i}/${count}`, '--config', config, '--cache-dir', p.path(`${tag}-machine-${i}`), '--out', p.path('out')]).done,
  );
  const results = await Promise.all(runs);
  for (const r of results) assert.is(r.code, 0, r.stderr);
  return results.map((r) => r.json);
}

test('the partition comes from --shard I/N, Slurm array variables or a Kubernetes completion index', () => {
  assert.equal(resolvePartition('2/8', {}), { index: 2, count: 8 });
  assert.equal(resolvePartition('auto', { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 3, count: 4 });
  assert.equal(resolvePartition('auto', { JOB_COMPLETION_INDEX: '3' }, 6), { index: 3, count: 6 });
  assert.throws(() => resolvePartition('4/4', {}), /not in 0\.\.3/);
  assert.throws(() => resolvePartition('auto', {}), /SLURM_ARRAY_TASK_ID/);
  assert.throws(() => resolvePartition('auto', { JOB_COMPLETION_INDEX: '1' }), /number of partitions/);
  // Ownership is a stable function of the source alone: adding sources moves none.
  const owners = sources.map((s) => partitionOf(s, 4));
  assert.equal([...sources, { dir: 'repos/new' }].map((s) => partitionOf(s, 4)).slice(0, sources.length), owners);
});

let merged: any;

test('4 workers + merge = the same version and byte-identical shards as one machine', async () => {
  const config = cfg();
  const parts = await workers(4, config, 'a');
  assert.is(parts.reduce((n, x) => n + x.sources, 0), names.length, 'every source is built by exactly one partition');
  const m = p.run(['merge', '--shards', '4', '--json', '--config', config, '--cache-dir', p.path('merge-machine'), '--out', p.path('out')]);
  assert.is(m.code, 0, m.stderr);
  merged = m.json;
  for (const [stage, s] of Object.entries(merged.stages as Record<string, { computed: number }>)) {
    // Merge lays out the shards (from row groups it encodes): nothing upstream is computed.
    if (stage !== 'shard' && stage !== 'row-group') assert.is(s.computed, 0, `merge computed ${stage} items`);
  }
  const single = p.run(['build', '--json', '--config', p.config({ name: 'scaled', format: 'raw', sources, workers: 2 }, 'single.config.ts'), '--cache-dir', p.path('single-machine'), '--out', p.path('out-single')]);
  assert.is(single.code, 0, single.stderr);
  assert.is(merged.version, single.json.version);
  // build.json (the last build's summary: timings, cache path) is expected to differ (issue 16).
  for (const f of ['manifest.json', 'README.md', ...readdirSync(join(single.json.path, 'data')).map((x) => join('data', x))]) {
    assert.ok(readFileSync(join(single.json.path, f)).equals(readFileSync(join(merged.path, f))), `${f} differs`);
  }
});

test('merge names the partitions that have not completed', () => {
  const config = cfg({ partitions: 3 }, 'three.config.ts');
  const r = p.spawn(['build', '--json', '--shard', '0/3', '--config', config, '--cache-dir', p.path('three-0'), '--out', p.path('out')]);
  return r.done.then((w) => {
    assert.is(w.code, 0, w.stderr);
    const m = p.run(['merge', '--json', '--config', config, '--cache-dir', p.path('three-merge'), '--out', p.path('out')]);
    assert.is(m.code, 1);
    assert.match(m.stderr, /PARTITIONS_INCOMPLETE/);
    assert.match(m.stderr, /2 of 3 partitions have not completed: 1, 2/);
  });
});

test('adding a source re-runs only the partition that owns it', async () => {
  p.repo('gnu', { 'index.js': 'module.exports = 42;\n' });
  const more = [...sources, { dir: 'repos/gnu' }];
  const config = p.config({ name: 'scaled', format: 'raw', sources: more, workers: 1, cache: { remote: { url: shared, mode: 'read-write' } } }, 'more.config.ts');
  const owner = partitionOf({ dir: 'repos/gnu' }, 4);
  const parts = await workers(4, config, 'a'); // the same machines (local caches) as before
  for (const part of parts) {
    // Every partition's hygiene pass sees every source (dedup is across sources): the new
    // source's hygiene items (its scan memos by stat stamp and by content, its one file's secret
    // scan, its license) may be computed by any partition, first come; nothing else is.
    const stages = Object.entries(part.stages as Record<string, { computed: number }>);
    const computed = stages.filter(([name]) => !name.startsWith('hygiene-')).reduce((n, [, s]) => n + s.computed, 0);
    const hygiene = stages.filter(([name]) => name.startsWith('hygiene-')).reduce((n, [, s]) => n + s.computed, 0);
    assert.ok(hygiene <= 4, `partition ${part.partition.index} computed ${hygiene} hygiene items`);
    if (part.partition.index === owner) assert.ok(computed > 0, 'the owner builds the new source');
    else assert.is(computed, 0, `partition ${part.partition.index} recomputed ${computed} items`);
  }
  const m = p.run(['merge', '--shards', '4', '--json', '--config', config, '--cache-dir', p.path('merge-machine'), '--out', p.path('out')]);
  assert.is(m.code, 0, m.stderr);
  assert.is(m.json.documents, names.length + 1);
});

test('a worker killed mid-way is run again: merge succeeds and no finished LLM call is sent twice', async () => {
  const server = await startLlmServer({ answer: jsonAnswer, delayMs: 120 });
  try {
    const traj = [join(FIXTURES, 'calc'), join(FIXTURES, 'notes')].map((dir) => ({ dir }));
    const llm = { provider: 'openai', endpoint: { baseURL: server.url, model: 'test-model', timeoutMs: 2000, maxConcurrency: 1 } };
    const config = p.config({ name: 'traj', format: 'trajectory', sources: traj, llm, workers: 1, cache: { remote: { url: `file://${p.path('shared-traj')}` } } }, 'traj.config.ts');
    const args = (i: number) => ['build', '--json', '--shard', `${i}/1`, '--config', config, '--cache-dir', p.path(`traj-machine-${i}`), '--out', p.path('out')];
    const first = p.spawn([...args(0), '--events']);
    // An `item` event of the llm stage is emitted once its answer is stored: kill right after the third.
    const answered = (e: { event: string; stage?: string; cached?: boolean }) => e.event === 'item' && e.stage === 'llm' && e.cached === false;
    await first.waitForEvents(answered, 3, 30_000);
    first.child.kill('SIGKILL');
    await first.done; // every event the build wrote before it died has been read now
    const stored = first.events.filter(answered).length;
    // The request in flight at the kill is still answered by the server (to nobody) and logged.
    const deadline = Date.now() + 5_000;
    while (server.log.length <= stored && Date.now() < deadline) await sleep(10);
    const before = successes(server.log).slice(0, stored);
    assert.ok(before.length >= 3, `killed after ${before.length} answers`);
    const from = server.log.length;
    const again = await p.spawn(args(0)).done;
    assert.is(again.code, 0, again.stderr);
    const after = successes(server.log.slice(from));
    assert.is(after.filter((b) => before.includes(b)).length, 0, 'a finished call was sent again');
    // Every answer whose event was seen is reused. One more may be: its record can be committed a
    // moment before its `item` event is written, and the kill can land in between (seen at load
    // 3.6 and 17); never more than the server answered before the rerun.
    const answeredBeforeRerun = successes(server.log.slice(0, from)).length;
    assert.ok(again.json.llm.cached >= before.length && again.json.llm.cached <= answeredBeforeRerun, `every finished answer was reused: ${again.json.llm.cached} cached, ${before.length} seen stored, ${answeredBeforeRerun} answered`);
    const m = p.run(['merge', '--shards', '1', '--json', '--config', config, '--cache-dir', p.path('traj-merge'), '--out', p.path('out')]);
    assert.is(m.code, 0, m.stderr);
    assert.is(m.json.documents, 2);
    assert.is(m.json.llm.requests, 0);
  } finally {
    await server.close();
  }
});

test.after(() => p.cleanup());
test.run();
