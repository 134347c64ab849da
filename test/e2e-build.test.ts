/**
 * The build engine end to end, through the real `retrace` binary on fixture projects:
 * no-op rebuilds, incremental rebuilds with explain, reproducibility across caches, independent
 * readers (DuckDB + a reference Llama-3 tokenizer), and concurrent builds on one cache.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, computed } from './helpers/project.ts';
import { readShard, queryShards, sqlPath } from './helpers/duckdb.ts';
import { loadReferenceTokenizer } from './helpers/reference-tokenizer.ts';

const p = new Project();
p.repo('alpha', {
  'package.json': JSON.stringify({ name: 'alpha', version: '1.0.0', main: 'index.js' }, null, 2),
  'README.md': '# alpha\n\nA tiny CommonJS package.\n',
  'index.js': "const { add } = require('./lib/util');\n\nmodule.exports = function sum(xs) {\n  return xs.reduce(add, 0);\n};\n",
  'lib/util.js': "// helpers\nfunction add(a, b) {\n  return a + b;\n}\nexports.add = add;\n",
  'lib/special.js': "// a file that mentions special tokens as plain text\nconst EOT = '<|end_of_text|>';\nconst BOT = \"<|begin_of_text|><|eot_id|>\";\nmodule.exports = { EOT, BOT };\n",
});
p.repo('beta', {
  'package.json': JSON.stringify({ name: 'beta', type: 'module' }),
  'src/main.mjs': "import { greet } from './greet.mjs';\nconsole.log(greet('world'));\n",
  'src/greet.mjs': "/** Says hello. */\nexport function greet(name) {\n  return `héllo ${name} 🌍`;\n}\n",
});
p.config({ name: 'fixture', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }], workers: 2 });

let first: any;

test('a cold build writes a version; a second build computes nothing and gives the same id', () => {
  const a = p.run(['build', '--json']);
  assert.is(a.code, 0, a.stderr);
  first = a.json;
  assert.is(first.documents, 2);
  assert.ok(first.tokens > 100);
  assert.is(first.shards, 1);
  assert.ok(first.stages.ingest.computed >= 7);
  assert.is(first.stages.parse.computed, 5);
  const b = p.run(['build', '--json']);
  assert.is(b.code, 0, b.stderr);
  assert.is(b.json.version, first.version);
  for (const [stage, n] of Object.entries(computed(b.json))) assert.is(n, 0, `${stage} recomputed on a no-op build`);
  assert.is(b.json.stages.ingest.cached, first.stages.ingest.items);
});

test('DuckDB reads the shard; counts, token sums and ids match a reference tokenizer', async () => {
  const dir = first.path as string;
  const shard = join(dir, 'data/train-00000-of-00001.parquet');
  const [agg] = await queryShards(`SELECT count(*) AS n, sum(num_tokens) AS t FROM read_parquet(${sqlPath(shard)})`);
  assert.is(Number(agg.n), first.documents);
  assert.is(Number(agg.t), first.tokens);
  const rows = await readShard(shard);
  const ref = await loadReferenceTokenizer();
  try {
    for (const row of rows) {
      const expected = [128000, ...ref.encodeOrdinary(row.text as string), 128001];
      assert.equal(row.input_ids, expected, `ids of ${row.id}`);
      assert.is(row.loss_mask.length, row.input_ids.length);
      assert.ok(row.loss_mask.every((m) => m === 1), 'raw format trains on every token');
      assert.is(row.num_tokens, row.input_ids.length);
    }
    const alpha = rows.find((r) => r.id === 'alpha')!;
    assert.ok((alpha.text as string).includes("'<|end_of_text|>'"));
    // Literal special-token text is plain text: the special ids appear only as BOS and EOS.
    assert.is(alpha.input_ids.filter((id) => id >= 128000).length, 2);
  } finally {
    ref.free();
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.is(manifest.version, first.version);
  assert.is(manifest.tokenizer.bos, 128000);
  assert.is(manifest.tokenizer.eos, 128001);
  assert.is(manifest.shards[0].rows, 2);
});

test('changing one file recomputes only what depends on it, and explain names the change', () => {
  p.write('repos/beta/src/greet.mjs', "/** Says hello. */\nexport function greet(name) {\n  return `hello, ${name}!`;\n}\n");
  const r = p.run(['build', '--json']);
  assert.is(r.code, 0, r.stderr);
  const c = computed(r.json);
  assert.equal({ ingest: c.ingest, parse: c.parse, graph: c.graph, render: c.render, tokenize: c.tokenize, shard: c.shard }, { ingest: 1, parse: 1, graph: 0, render: 1, tokenize: 1, shard: 1 });
  // + the one Parquet row group holding the changed document (stages/shard/row-group.ts).
  assert.is(c['row-group'], 1);
  // + the changed file's secret scan (hygiene, a per-file item keyed by its content).
  assert.is(c['hygiene-secrets'], 1);
  // + the changed source's hygiene-scan memos (one keyed by its stat stamp, one by its content:
  // ingest/content.ts; alpha's stat memo is reused).
  assert.is(c['hygiene-scan'], 2);
  // + the changed source's chain memos, by stamp and by content (stages/source-memo.ts; alpha is
  // answered by its stat memo).
  assert.is(c.source, 1);
  assert.is(c['source-content'], 1);
  assert.is(r.json.stages.source.cached, 1);
  assert.is(Object.values(c).reduce((a, b) => a + b, 0), 11, 'no other stage computed anything');
  assert.is.not(r.json.version, first.version);
  const ex = p.run(['explain', 'beta:src/greet.mjs', '--json']);
  assert.is(ex.code, 0, ex.stderr);
  const ingest = ex.json.find((e: any) => e.stage === 'ingest');
  assert.ok(ingest.changes.some((c: any) => c.field === 'inputs.content'), JSON.stringify(ex.json));
  const parse = ex.json.find((e: any) => e.stage === 'parse');
  assert.ok(parse.changes.some((c: any) => c.field === 'inputs.content'));
  const text = p.run(['explain', 'beta']);
  assert.match(text.stdout, /render beta/);
  // Issue 16: in words, naming the file that changed.
  assert.match(text.stdout, /render beta .*\n  re-ran because:\n  its input files \(an upstream result\) changed: .*\n  files of beta changed since its previous build: src\/greet\.mjs/);
  const st = p.run(['status', '--json']);
  assert.is(st.code, 0, st.stderr);
  assert.is(st.json.upToDate, true);
});

test('editing only a comment re-parses that file; the graph and what depends on it stay cached (early cutoff)', () => {
  // A comment inside a body: not a doc comment, so the file's facts stay the same.
  p.write('repos/alpha/lib/util.js', "// helpers\nfunction add(a, b) {\n  return a + b; // plain sum\n}\nexports.add = add;\n");
  const r = p.run(['build', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.stages.parse.computed, 1);
  assert.is(r.json.stages.parse.unchanged, 1, 'the facts of the file did not change');
  assert.is(r.json.stages.graph.computed, 0, 'the graph input did not change');
  // The raw document holds the file's text, so it (and only it) is rebuilt.
  assert.is(r.json.stages.render.computed, 1);
  assert.is(r.json.stages.graph.cached, 2);
});

test('the up-to-date fast path: unchanged stats skip the build; any change, --recheck or a missing version does not', async () => {
  const { utimesSync, statSync, rmSync, writeFileSync } = await import('node:fs');
  const base = p.run(['build', '--json']);
  assert.is(base.code, 0, base.stderr);
  // The no-op is answered before any session: no lmdb module loaded, nothing written to the cache.
  const hook = p.path('loaded-modules-hook.mjs');
  p.write('loaded-modules-hook.mjs', "import { createRequire } from 'node:module';\nimport { writeFileSync } from 'node:fs';\nconst require = createRequire(import.meta.url);\nprocess.on('exit', () => writeFileSync(process.env.LOADED_OUT, Object.keys(require.cache).join('\\n')));\n");
  const data = p.path('cache/lmdb/data.mdb');
  const dataBefore = statSync(data);
  const fast = p.run(['build', '--json'], { env: { NODE_OPTIONS: `--import ${hook}`, LOADED_OUT: p.path('loaded.txt') } });
  assert.is(fast.code, 0, fast.stderr);
  assert.is(fast.json.upToDate, true, 'nothing changed: answered from the last build');
  assert.is(fast.json.version, base.json.version);
  // lmdb loads its native binding through CommonJS (node-gyp-build), so it would be in the list.
  const loaded = p.read('loaded.txt'); // written at exit by the hook: it ran
  assert.not.match(loaded, /node_modules\/(lmdb|msgpackr|node-gyp-build)/, 'a no-op build loaded the cache store');
  assert.is(statSync(data).mtimeMs, dataBefore.mtimeMs, 'a no-op build wrote to the cache');
  // A slot that does not parse is a miss (and is written again); a gc that removes results forgets every slot.
  const slots = readdirSync(p.path('cache/up-to-date'));
  assert.is(slots.length, 1);
  p.write(`cache/up-to-date/${slots[0]}`, '{"format": 1, "key": ');
  const damaged = p.run(['build', '--json']);
  assert.is(damaged.code, 0, damaged.stderr);
  assert.is(damaged.json.upToDate, undefined, 'an unreadable slot is a miss');
  assert.is(p.run(['build', '--json']).json.upToDate, true, 'the slot was written again');
  assert.is(p.run(['build', '--json', '--repair-cache']).json.upToDate, undefined, '--repair-cache opens the cache');
  const gc = p.run(['cache', 'gc', '--max-age', '0s', '--no-keep-latest', '--json']);
  assert.is(gc.code, 0, gc.stderr);
  assert.ok(gc.json.actionsRemoved > 0);
  const afterGc = p.run(['build', '--json']);
  assert.is(afterGc.json.upToDate, undefined, 'after gc removed results, the build checks the cache');
  assert.is(afterGc.json.version, base.json.version);
  assert.ok(afterGc.json.stages.ingest.computed > 0, 'what gc removed is computed again');
  const recheck = p.run(['build', '--json', '--recheck']);
  assert.is(recheck.json.upToDate, undefined, '--recheck takes the content-addressed path');
  assert.is(recheck.json.version, base.json.version);
  assert.is(recheck.json.stages.ingest.cached, recheck.json.stages.ingest.items);
  // Same size, mtime put back: the inode's ctime still moves, so the change is seen.
  const f = p.path('repos/alpha/index.js');
  const before = statSync(f);
  p.write('repos/alpha/index.js', p.read('repos/alpha/index.js').replace('sum', 'add'));
  utimesSync(f, before.atime, before.mtime);
  const changed = p.run(['build', '--json']);
  assert.is(changed.json.upToDate, undefined);
  assert.is(changed.json.stages.ingest.computed, 1);
  assert.is.not(changed.json.version, base.json.version);
  rmSync(changed.json.path, { recursive: true });
  const rewritten = p.run(['build', '--json']);
  assert.is(rewritten.json.upToDate, undefined, 'a deleted version is written again');
  assert.is(rewritten.json.version, changed.json.version);
  assert.ok(statSync(join(rewritten.json.path, 'manifest.json')).isFile());
  // The no-op checks manifest.json by size and mtime (not by reading it: a manifest of many
  // sources takes seconds): one damaged since takes the real path, which writes it again.
  const mf = join(rewritten.json.path, 'manifest.json');
  const good = readFileSync(mf);
  writeFileSync(mf, '{"damaged": true}\n');
  const repaired = p.run(['build', '--json']);
  assert.is(repaired.json.upToDate, undefined, 'a damaged manifest takes the real path');
  assert.match(repaired.stderr, /DATASET_REPAIRED/);
  assert.ok(readFileSync(mf).equals(good), 'manifest.json is written again, the same bytes');
  assert.is(p.run(['build', '--json']).json.upToDate, true, 'and the next build is a no-op again');
});

test('two cold builds into different caches give byte-identical shards and the same version; two concurrent builds on one cache both succeed with it', async () => {
  // One build alone in its cache (2 workers, from the config) and, in another cache, two
  // concurrent builds (one of them with --workers 1): 3 cold builds where there were 4.
  const a = p.run(['build', '--json'], { cacheDir: p.path('cacheA'), outDir: p.path('outA') });
  assert.is(a.code, 0, a.stderr);
  const args = ['build', '--json', '--cache-dir', p.path('cacheC'), '--out', p.path('outC')];
  const [x, y] = await Promise.all([p.spawn(args).done, p.spawn([...args, '--workers', '1']).done]);
  // On a failure, both builds' stderr: one build's warnings (a dropped entry) can explain the other's error.
  const both = `--- build x:\n${x.stderr}\n--- build y (--workers 1):\n${y.stderr}`;
  assert.is(x.code, 0, both);
  assert.is(y.code, 0, both);
  assert.is(x.json.version, y.json.version);
  assert.is(a.json.version, x.json.version);
  // build.json (the last build's summary: timings, cache path) is expected to differ.
  const files = ['manifest.json', 'README.md', ...readdirSync(join(a.json.path, 'data')).map((f) => join('data', f))];
  for (const f of files) {
    assert.ok(readFileSync(join(a.json.path, f)).equals(readFileSync(join(x.json.path, f))), `${f} differs`);
  }
  const v = p.run(['cache', 'verify', '--json'], { cacheDir: p.path('cacheC') });
  assert.is(v.code, 0, v.stdout);
  assert.is(v.json.ok, true);
});

test('dataset list, show and verify; verify catches a flipped byte', async () => {
  const list = p.run(['dataset', 'list', '--json']);
  assert.ok(list.json.length >= 2);
  const show = p.run(['dataset', 'show', 'latest']);
  assert.match(show.stdout, /fixture\//);
  assert.match(show.stdout, /data\/train-00000-of-00001\.parquet/);
  const ok = p.run(['dataset', 'verify', first.version, '--json']);
  assert.is(ok.code, 0);
  assert.is(ok.json.ok, true);
  const { writeFileSync } = await import('node:fs');
  const f = join(first.path, 'data/train-00000-of-00001.parquet');
  const bytes = readFileSync(f);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(f, bytes);
  const bad = p.run(['dataset', 'verify', first.version, '--json']);
  assert.is(bad.code, 3);
  assert.is(bad.json.ok, false);
  assert.match(JSON.stringify(bad.json.problems), /sha256/);
});

test('a build repairs its version: a deleted shard is written again, a flipped byte with --recheck', async () => {
  const { rmSync, writeFileSync } = await import('node:fs');
  const built = p.run(['build', '--json']);
  assert.is(built.code, 0, built.stderr);
  const shard = join(built.json.path, 'data/train-00000-of-00001.parquet');
  const good = readFileSync(shard);
  rmSync(shard);
  const again = p.run(['build', '--json']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /DATASET_REPAIRED/);
  assert.ok(readFileSync(shard).equals(good));
  const bytes = Buffer.from(good);
  bytes[100] ^= 0xff;
  writeFileSync(shard, bytes);
  const recheck = p.run(['build', '--json', '--recheck']);
  assert.is(recheck.code, 0, recheck.stderr);
  assert.ok(readFileSync(shard).equals(good), '--recheck re-checks the SHA-256 of written shards');
  const v = p.run(['dataset', 'verify', built.json.version, '--json']);
  assert.is(v.json.ok, true);
});

test.after(() => p.cleanup());
test.run();
