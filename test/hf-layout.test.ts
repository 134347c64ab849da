/**
 * Issue 16: the version folder has the Hugging Face layout and the README's reading examples work
 * as written. DuckDB runs the README's SQL verbatim from the project folder. pyarrow and
 * `datasets` run verbatim when the Python found has them; Debian 12 packages neither (no
 * python3-pyarrow / python3-datasets, and only apt and npm are reachable here), so otherwise the
 * test says so and checks the dataset card's YAML fields against the shards instead.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Project, ROOT } from './helpers/project.ts';
import { queryShards } from './helpers/duckdb.ts';

const p = new Project('retrace-hf-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i}; // ${tag} ${i}`).join('\n') + '\n';
p.repo('one', { 'a.js': lines(30, 'a'), LICENSE: 'MIT License\n\nCopyright (c) test\n' });
p.repo('two', { 'b.js': lines(50, 'b') });
p.repo('three', { 'c.js': lines(70, 'c') });
// The README's examples name `datasets/embedded-js/latest`: build a dataset of that name here.
p.config({ name: 'embedded-js', format: 'raw', sources: [{ dir: 'repos/one' }, { dir: 'repos/two' }, { dir: 'repos/three' }], workers: 1, output: { shardTokens: 600 } });
const built = p.run(['build', '--json']);

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Reading a version'));
const block = (lang: string): string => {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  assert.ok(m, `README "Reading a version" has a ${lang} block`);
  return m![1];
};

test('the version folder: data/train-K-of-N shards, manifest and card beside them', () => {
  assert.is(built.code, 0, built.stderr);
  const v = built.json.path as string;
  assert.is(readlinkSync(p.path('datasets/embedded-js/latest')), built.json.version);
  assert.equal(readdirSync(v).sort(), ['README.md', 'build.json', 'data', 'manifest.json']);
  const files = readdirSync(join(v, 'data')).sort();
  assert.ok(files.length >= 2, `shardTokens 600 gives several shards: ${files}`);
  files.forEach((f, k) => assert.is(f, `train-${String(k).padStart(5, '0')}-of-${String(files.length).padStart(5, '0')}.parquet`));
  const m = JSON.parse(readFileSync(join(v, 'manifest.json'), 'utf8'));
  assert.equal(m.shards.map((s: { file: string }) => s.file), files.map((f) => `data/${f}`));
});

test("README's DuckDB example, verbatim, from the project folder", async () => {
  const sql = block('sql').split('\n').filter((l) => !l.startsWith('--')).join('\n').trim();
  assert.match(sql, /latest\/data\/\*\.parquet/);
  const cwd = process.cwd();
  process.chdir(p.dir);
  try {
    const rows = await queryShards(sql);
    assert.is(rows.length, 3, 'one row per document, across every shard');
    assert.equal(rows.map((r) => r.id).sort(), ['one', 'three', 'two']);
    assert.is(rows.reduce((n, r) => n + Number(r.num_tokens), 0), built.json.tokens);
  } finally {
    process.chdir(cwd);
  }
});

/** A Python with pyarrow (and maybe datasets), or undefined. */
function python(mod: string): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

test("README's pyarrow and datasets examples, verbatim where installable; otherwise the card's YAML", async () => {
  const code = block('python');
  const py = python('pyarrow');
  if (py) {
    const hasDatasets = python('datasets') !== undefined;
    const run = hasDatasets ? code : code.slice(0, code.indexOf('# Hugging Face'));
    const r = spawnSync(py, ['-c', `${run}\nprint(t.num_rows)`], { cwd: p.dir, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim().split('\n').pop(), '3');
    if (!hasDatasets) console.log('  note: Hugging Face `datasets` is not installed (no Debian package): its examples were not run; the card is checked below');
  } else {
    console.log('  note: pyarrow and `datasets` cannot be installed here (Debian 12 packages neither; only apt and npm are reachable): the README python examples were not run; checking the dataset card YAML instead');
  }
  // The card's YAML, as `datasets` reads it: a config whose data_files glob matches exactly the
  // shard files, features naming every column with its type, and the split size.
  const v = built.json.path as string;
  const card = readFileSync(join(v, 'README.md'), 'utf8');
  const header = /^---\n([\s\S]*?)\n---\n/.exec(card);
  assert.ok(header, 'the card starts with a YAML header');
  const yaml = header![1];
  assert.match(yaml, /^configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data\/train-\*\.parquet$/m);
  const glob = /path: (data\/train-\*\.parquet)/.exec(yaml)![1];
  const re = new RegExp('^' + glob.replace('.', '\\.').replace('*', '[^/]*') + '$');
  const m = JSON.parse(readFileSync(join(v, 'manifest.json'), 'utf8'));
  for (const s of m.shards) assert.ok(re.test(s.file), `${s.file} matches the card's data_files`);
  const features = [...yaml.matchAll(/  - name: (\w+)\n    (dtype|sequence): (\w+)/g)].map((x) => [x[1], x[2], x[3]]);
  const cols = await queryShards(`DESCRIBE SELECT * FROM read_parquet('${join(v, 'data/*.parquet')}')`);
  const duck: Record<string, string> = { VARCHAR: 'dtype:string', INTEGER: 'dtype:int32', 'INTEGER[]': 'sequence:int32', 'UTINYINT[]': 'sequence:uint8', 'VARCHAR[]': 'sequence:string' };
  assert.equal(
    features.map(([n, k, t]) => `${n} ${k}:${t}`),
    cols.map((c) => `${c.column_name} ${duck[String(c.column_type)] ?? c.column_type}`),
    'features list every Parquet column, in order, with its type',
  );
  assert.match(yaml, new RegExp(`num_examples: 3\\n`));
  assert.match(card, /\| one \|/, 'the card lists the sources');
});

test('manifest shard names are part of the id: same bytes under other names -> another id', async () => {
  const { versionOf } = await import('../src/dataset.ts');
  const { version: _v, merkleRoot: _r, ...body } = JSON.parse(readFileSync(join(built.json.path, 'manifest.json'), 'utf8'));
  assert.is(versionOf(body).version, built.json.version);
  const renamed = { ...body, shards: body.shards.map((s: { file: string }) => ({ ...s, file: s.file.replace('data/train-', 'shard-') })) };
  assert.is.not(versionOf(renamed).version, built.json.version);
});

test.after(() => p.cleanup());
test.run();
