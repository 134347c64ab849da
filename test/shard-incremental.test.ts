/**
 * Issue 17, acceptance 2: a one-line edit in one repository of a multi-shard version re-writes
 * only the shards holding that repository's documents (counted in `--json`: shardsWritten /
 * shardsReused), the unchanged shards are the previous version's files (hard links into the
 * dataset's shard store, not copies), and the version equals a cold build of the edited corpus.
 * Also: a deleted shard of an unchanged corpus is re-linked, and with the store gone too it is
 * re-made from the cache, byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Project } from './helpers/project.ts';
import { queryShards, sqlPath } from './helpers/duckdb.ts';

const p = new Project('retrace-shard-incr-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i * 7}; // ${tag} line ${i}`).join('\n') + '\n';
const REPOS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
REPOS.forEach((name, k) => p.repo(name, { 'index.js': lines(8 + 3 * k, name.slice(0, 3)), 'util.js': lines(6, `${name.slice(0, 3)}u`) }));
// ~300-700 tokens per repository (one raw document each): several shards of a few documents.
p.config({ name: 'incr', format: 'raw', sources: REPOS.map((r) => ({ dir: `repos/${r}` })), workers: 1, output: { shardTokens: 700 } });

interface Shard {
  file: string;
  sha256: string;
}

/** file -> repositories whose documents it holds (read by DuckDB). */
async function reposByShard(versionPath: string): Promise<Map<string, string[]>> {
  const rows = await queryShards(`SELECT filename, repo FROM read_parquet(${sqlPath(join(versionPath, 'data/*.parquet'))}, filename = true)`);
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const file = 'data/' + String(r.filename).split('/').pop();
    out.set(file, [...(out.get(file) ?? []), String(r.repo)]);
  }
  return out;
}

/** The edited corpus' version, for the repair test. */
let edited: { version: string; path: string } | undefined;

const manifestOf = (path: string) => JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { shards: Shard[]; version: string };

test('a one-line edit re-writes only the shards holding the edited repository; the version equals a cold build', async () => {
  const cold = p.run(['build', '--json']);
  assert.is(cold.code, 0, cold.stderr);
  assert.ok(cold.json.shards >= 3, `several shards: ${cold.json.shards}`);
  assert.is(cold.json.shardsWritten, cold.json.shards, 'a cold build writes every shard');
  assert.is(cold.json.shardsReused, 0);

  const src = p.read('repos/delta/index.js');
  p.write('repos/delta/index.js', src.replace('export const del3 = 21;', 'export const del3 = 22;'));
  assert.is.not(p.read('repos/delta/index.js'), src, 'the edit applied');
  const edit = p.run(['build', '--json']);
  assert.is(edit.code, 0, edit.stderr);
  assert.is.not(edit.json.version, cold.json.version);
  assert.is(edit.json.shards, cold.json.shards, 'a one-line edit moves no shard boundary');

  const before = manifestOf(cold.json.path);
  const after = manifestOf(edit.json.path);
  const holders = [...(await reposByShard(edit.json.path))].filter(([, repos]) => repos.includes('delta')).map(([file]) => file);
  assert.is(holders.length, 1, 'one raw document per repository: one shard holds it');
  const oldShas = new Set(before.shards.map((s) => s.sha256));
  const changed = after.shards.filter((s) => !oldShas.has(s.sha256)).map((s) => s.file);
  assert.equal(changed, holders, 'exactly the shards holding delta have new bytes');
  assert.is(edit.json.shardsWritten, holders.length, 'counted in --json');
  assert.is(edit.json.shardsReused, after.shards.length - holders.length);
  assert.is(edit.json.stages.shard.computed, holders.length, 'the shard stage computed only those');

  // Unchanged shards are the previous version's files: the same inode, never copied or re-encoded.
  for (const s of after.shards) {
    if (changed.includes(s.file)) continue;
    const old = before.shards.find((o) => o.sha256 === s.sha256)!;
    assert.is(statSync(join(edit.json.path, s.file)).ino, statSync(join(cold.json.path, old.file)).ino, `${s.file} is linked`);
  }

  // The same version as a cold build of the edited corpus (fresh cache, fresh datasets folder).
  const fresh = p.run(['build', '--json'], { cacheDir: p.path('cache-cold'), outDir: p.path('datasets-cold') });
  assert.is(fresh.code, 0, fresh.stderr);
  assert.is(fresh.json.version, edit.json.version);
  assert.is(fresh.json.shardsWritten, fresh.json.shards);
  assert.equal(manifestOf(fresh.json.path).shards, after.shards);
  edited = edit.json;
});

test('a deleted shard is re-linked from the store, or re-made from the cache when the store lost it too', async () => {
  const built = edited!;
  const shard = manifestOf(built.path).shards[1]!;
  const path = join(built.path, shard.file);
  const good = readFileSync(path);
  rmSync(path);
  const relinked = p.run(['build', '--json', '--recheck']);
  assert.is(relinked.code, 0, relinked.stderr);
  assert.match(relinked.stderr, /DATASET_REPAIRED/);
  assert.is(relinked.json.shardsWritten, 0, 'linked again from the store, nothing encoded');
  assert.ok(readFileSync(path).equals(good));

  rmSync(path);
  rmSync(p.path('datasets/incr/.shards'), { recursive: true, force: true });
  const remade = p.run(['build', '--json', '--recheck']);
  assert.is(remade.code, 0, remade.stderr);
  assert.match(remade.stderr, /DATASET_REPAIRED/);
  assert.is(remade.json.shardsWritten, 1, 're-encoded from the cached documents');
  assert.ok(readFileSync(path).equals(good), 'byte for byte');
  const v = p.run(['dataset', 'verify', built.version, '--json']);
  assert.is(v.json.ok, true, JSON.stringify(v.json));
});

test.after(() => p.cleanup());
test.run();
