/**
 * Issue 17: a repository whose stat stamp, code and settings are unchanged is answered by its
 * memo (stages/source-memo.ts, Executor.memo) without reading its files or looking its items
 * up one by one: the version, its closure (version root) and the per-stage counts are what
 * answering the chain item by item gives. An edit re-runs only its repository; a chain record
 * gone (gc) makes the memo miss; the LLM calls of an answered repository count as cached.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from 'lmdb';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Project, runCli } from './helpers/project.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { rootKey, rootKeyChunks } from '../src/cache/closure.ts';
import { initHash, type ActionKey } from '../src/hash.ts';

await initHash();

const p = new Project('retrace-source-memo-');
const REPOS = ['alpha', 'bravo', 'charlie'];
for (const name of REPOS) {
  p.repo(name, {
    'index.js': `const util = require('./util');\n/** The ${name} entry point. */\nmodule.exports = function ${name}(x) {\n  return util.twice(x) + 1;\n};\n`,
    'util.js': `/** Doubles x. */\nexports.twice = (x) => x * 2;\n`,
    'README.md': `# ${name}\n`,
  });
}
p.config({ name: 'memo', format: 'raw', sources: REPOS.map((r) => ({ dir: `repos/${r}` })), workers: 1 });
let outs = 0;
/** A build into a new --out folder: never answered by the up-to-date shortcut. */
const build = (extra: string[] = []) => {
  const r = p.run(['build', '--json', '--out', p.path(`out-${++outs}`), ...extra]);
  assert.is(r.code, 0, r.stderr);
  return r.json;
};

const CHAIN = new Set(['ingest', 'parse', 'graph', 'render', 'tokenize', 'source']);

/** The version root's keys whose records belong to the repositories' chains. */
async function chainClosure(version: string): Promise<Set<ActionKey>> {
  const cache = LmdbCache.open(p.path('cache'), { readOnly: true });
  try {
    const keys = new Set<ActionKey>();
    const root = (await cache.getAction(rootKey('memo', version)))!;
    assert.ok(root, `the root of ${version}`);
    for await (const chunk of rootKeyChunks((h) => cache.getBlob(h), root, version)) {
      for (const k of chunk) {
        const rec = await cache.getAction(k);
        assert.ok(rec, `closure key ${k} has its record`);
        if (CHAIN.has(rec!.stage)) keys.add(k);
      }
    }
    return keys;
  } finally {
    await cache.close();
  }
}

let cold: any;

test('unchanged repositories are answered by their memos: same version, closure and counts', async () => {
  cold = build();
  assert.is(cold.stages.source.computed, 3);
  const again = build();
  assert.is(again.version, cold.version);
  assert.is(again.stages.source.cached, 3, 'every repository from its memo');
  assert.is(again.stages.source.computed, 0);
  for (const stage of ['ingest', 'parse', 'graph', 'render', 'tokenize']) {
    assert.is(again.stages[stage].computed, 0, `${stage}: nothing computed`);
    assert.is(again.stages[stage].items, cold.stages[stage].items, `${stage}: the same items, counted`);
    assert.is(again.stages[stage].cached, cold.stages[stage].items, `${stage}: counted as cached`);
  }
  const a = await chainClosure(cold.version);
  const b = await chainClosure(again.version);
  assert.ok(a.size >= 3 * 6, `the chains' keys are in the closure (${a.size})`);
  assert.equal([...b].sort(), [...a].sort(), 'the memo puts the same chain keys in the version root');

  const st = p.run(['status', '--json']);
  assert.is(st.code, 0, st.stderr);
  assert.is(st.json.upToDate, true);
});

test('an edit re-runs only its repository, and equals a cold build; a chain record gone is a miss', async () => {
  p.write('repos/bravo/util.js', `/** Doubles x. */\nexports.twice = (x) => x * 2 + 0;\n`);
  const edit = build();
  assert.is(edit.stages.source.cached, 2);
  assert.is(edit.stages.source.computed, 1);
  assert.is(edit.stages.ingest.computed, 1, 'only the edited file is stored again');
  assert.is(edit.stages.ingest.items, cold.stages.ingest.items);
  const fresh = p.run(['build', '--json', '--cache-dir', p.path('cache-cold'), '--out', p.path('out-cold')]);
  assert.is(fresh.code, 0, fresh.stderr);
  assert.is(edit.version, fresh.json.version, 'the same version as a cold build of the edited corpus');

  // gc took one of alpha's chain records: alpha's memo misses, its chain runs and computes only
  // what is gone. (The cache's removal mark changed with the removal: without it, a memo hit
  // would not look for its records one by one.)
  const root = open({ path: p.path('cache/lmdb'), maxDbs: 8, mapSize: 2 ** 40 });
  const actions = root.openDB<any, string>({ name: 'actions', encoding: 'msgpack' });
  // (Its render record: the graph's key is content-only, shared by the three same-shaped repositories.)
  const render = [...actions.getRange({})].find((e) => e.value?.stage === 'render' && e.value?.item === 'alpha')!;
  assert.ok(render, "alpha's render record");
  await actions.put(render.key, { ...render.value, usedAt: 0, createdAt: 0 }); // aged, so gc takes it alone
  await root.close();
  await initHash();
  const local = LmdbCache.open(p.path('cache'));
  const before = local.removalMark();
  const gc = await local.gc({ maxAgeMs: 3_600_000 });
  assert.is(gc.actionsRemoved, 1, JSON.stringify(gc));
  assert.is.not(local.removalMark(), before, 'the removal changed the mark');
  await local.close();
  const healed = build();
  assert.is(healed.version, edit.version);
  assert.is(healed.stages.source.computed, 1, "alpha's memo missed");
  assert.is(healed.stages.source.cached, 2);
  assert.is(healed.stages.render.computed, 1);
  assert.is(healed.stages.ingest.computed, 0);
});

test('another checkout of the same files (new stat stamps) is answered by the content memo, without reading items', () => {
  // The project copied elsewhere: every stamp differs (inodes, times), the bytes do not.
  const other = p.path('elsewhere');
  cpSync(p.path('repos'), join(other, 'repos'), { recursive: true });
  cpSync(p.path('pipeline.config.ts'), join(other, 'pipeline.config.ts'));
  const before = p.run(['build', '--json', '--out', p.path(`out-${++outs}`)]);
  assert.is(before.code, 0, before.stderr);
  const r = runCli(['build', '--json', '--cache-dir', p.path('cache'), '--out', p.path(`out-${++outs}`)], { cwd: other });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.version, before.json.version);
  assert.is(r.json.stages.source.computed, 3, 'no stat memo matches the new stamps');
  assert.is(r.json.stages['source-content'].cached, 3, 'every repository answered by its content');
  assert.is(r.json.stages['hygiene-scan'].cached, 3, "the hygiene scans too (by content)");
  for (const stage of ['ingest', 'parse', 'graph', 'render', 'tokenize']) assert.is(r.json.stages[stage].computed, 0, `${stage}: nothing computed`);
  assert.is(r.json.stages.ingest.cached, before.json.stages.ingest.items, 'items counted as cached');
  const again = runCli(['build', '--json', '--cache-dir', p.path('cache'), '--out', p.path(`out-${++outs}`)], { cwd: other });
  assert.is(again.json.stages.source.cached, 3, 'the content hit was stored under the new stamps too');
  assert.is(again.json.stages['source-content'].items, 0, 'no content lookup once the stat memo answers');
});

test('a trajectory repository answered by its memo counts its LLM calls as cached', () => {
  const t = new Project('retrace-source-memo-traj-');
  try {
    t.repo('calc', {
      'package.json': '{"name": "calc", "description": "adds numbers"}\n',
      'math.js': '/** Adds two numbers. */\nexports.add = (a, b) => a + b;\n',
      'index.js': "const { add } = require('./math');\nmodule.exports = (xs) => xs.reduce(add, 0);\n",
    });
    t.config({ name: 'traj', format: 'trajectory', sources: [{ dir: 'repos/calc' }], workers: 1 });
    const first = t.run(['build', '--json']);
    assert.is(first.code, 0, first.stderr);
    assert.ok(first.json.llm.calls >= 3, `plan + a loop per file: ${first.json.llm.calls}`);
    const second = t.run(['build', '--json', '--out', t.path('out-2')]);
    assert.is(second.code, 0, second.stderr);
    assert.is(second.json.version, first.json.version);
    assert.is(second.json.stages.source.cached, 1);
    assert.is(second.json.llm.calls, first.json.llm.calls);
    assert.is(second.json.llm.cached, first.json.llm.calls, 'every call counted as answered from the cache');
    assert.equal(second.json.llm.plan.cached, first.json.llm.plan.calls);
    assert.is(second.json.stages.llm.cached, first.json.stages.llm.items);
  } finally {
    t.cleanup();
  }
});

test.after(() => p.cleanup());
test.run();
