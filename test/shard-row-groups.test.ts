/**
 * Issue 17, "a one-line edit costs what it changes": a documents-layout Parquet shard is laid out
 * from content-defined row groups cached by content (stages/shard/row-group.ts). A one-line edit
 * re-encodes exactly the row group holding the edited document (the row-group stage's `computed`
 * in `--json`), the other row groups of the re-written shard are cache hits, and the version is
 * the one a cold build of the edited corpus makes, byte for byte. A shard missing from a fresh
 * datasets folder is laid out again from the cached row groups, encoding nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Project } from './helpers/project.ts';
import { queryShards, sqlPath } from './helpers/duckdb.ts';

const p = new Project('retrace-row-groups-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i * 7}; // ${tag} line ${i}`).join('\n') + '\n';
const REPOS = Array.from({ length: 14 }, (_, k) => `repo${String.fromCharCode(97 + k)}`);
REPOS.forEach((name, k) => p.repo(name, { 'index.js': lines(4 + (k % 4), name) }));
// ~150-250 tokens per repository (one raw document each); a row group targets 4000 / 8 = 500
// tokens: shards of several row groups of a few documents.
p.config({ name: 'rg', format: 'raw', sources: REPOS.map((r) => ({ dir: `repos/${r}` })), workers: 1, output: { shardTokens: 4000 } });

interface Shard {
  file: string;
  sha256: string;
}
const manifestOf = (path: string) => JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { shards: Shard[]; version: string };

/** Row groups of one Parquet file and the repositories each holds, as DuckDB reads them. */
async function rowGroupsOf(file: string): Promise<number> {
  const rows = await queryShards(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${sqlPath(file)})`);
  return Number(rows[0]!.n);
}

let edited: { version: string; path: string } | undefined;

test('a one-line edit re-encodes one row group; the others of its shard are cache hits; the version equals a cold build', async () => {
  const cold = p.run(['build', '--json']);
  assert.is(cold.code, 0, cold.stderr);
  const coldShards = manifestOf(cold.json.path).shards;
  let groups = 0;
  for (const s of coldShards) groups += await rowGroupsOf(join(cold.json.path, s.file));
  assert.ok(groups > coldShards.length, `several row groups per shard: ${groups} in ${coldShards.length} shard(s)`);
  assert.is(cold.json.stages['row-group'].computed, groups, 'a cold build encodes every row group once');

  const src = p.read('repos/repof/index.js');
  p.write('repos/repof/index.js', src.replace('export const repof2 = 14;', 'export const repof2 = 15;'));
  assert.is.not(p.read('repos/repof/index.js'), src, 'the edit applied');
  const edit = p.run(['build', '--json']);
  assert.is(edit.code, 0, edit.stderr);
  assert.is(edit.json.shardsWritten, 1);
  const after = manifestOf(edit.json.path);
  const old = new Set(coldShards.map((s) => s.sha256));
  const changed = after.shards.filter((s) => !old.has(s.sha256));
  assert.is(changed.length, 1, 'one shard has new bytes');
  const inChanged = await rowGroupsOf(join(edit.json.path, changed[0]!.file));
  assert.ok(inChanged >= 2, `the re-written shard has several row groups (${inChanged})`);
  const rg = edit.json.stages['row-group'];
  assert.is(rg.computed, 1, 'exactly one row group re-encoded');
  assert.is(rg.cached, inChanged - 1, 'the other row groups of the shard are cache hits');
  assert.is(edit.json.stages.shard.computed, 1);

  const fresh = p.run(['build', '--json'], { cacheDir: p.path('cache-cold'), outDir: p.path('datasets-cold') });
  assert.is(fresh.code, 0, fresh.stderr);
  assert.is(fresh.json.version, edit.json.version, 'the same version id as a cold build of the edited corpus');
  assert.equal(manifestOf(fresh.json.path).shards, after.shards, 'the same shard bytes');
  for (const s of after.shards) assert.ok(readFileSync(join(fresh.json.path, s.file)).equals(readFileSync(join(edit.json.path, s.file))), s.file);
  edited = edit.json;
});

test('a fresh datasets folder gets its shards laid out from the cached row groups, encoding none', async () => {
  const warm = p.run(['build', '--json'], { outDir: p.path('datasets-warm') });
  assert.is(warm.code, 0, warm.stderr);
  assert.is(warm.json.version, edited!.version);
  assert.is(warm.json.stages['row-group'].computed, 0, 'no row group encoded');
  assert.is(warm.json.stages.shard.computed, 0);
  for (const s of manifestOf(warm.json.path).shards) assert.ok(readFileSync(join(warm.json.path, s.file)).equals(readFileSync(join(edited!.path, s.file))), s.file);
  const v = p.run(['dataset', 'verify', warm.json.version, '--json'], { outDir: p.path('datasets-warm') });
  assert.is(v.json.ok, true, JSON.stringify(v.json));

  // Store and file gone: --recheck lays the file out again from the row groups' blobs.
  const shard = manifestOf(edited!.path).shards[0]!;
  const path = join(edited!.path, shard.file);
  const good = readFileSync(path);
  rmSync(path);
  rmSync(p.path('datasets/rg/.shards'), { recursive: true, force: true });
  const remade = p.run(['build', '--json', '--recheck']);
  assert.is(remade.code, 0, remade.stderr);
  assert.match(remade.stderr, /DATASET_REPAIRED/);
  assert.is(remade.json.stages['row-group'].computed, 0, 'laid out from cached row groups, nothing encoded');
  assert.ok(readFileSync(path).equals(good), 'byte for byte');
});

test.after(() => p.cleanup());
test.run();
