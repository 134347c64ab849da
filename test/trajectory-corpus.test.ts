/**
 * The offline provider over the embedded corpus (yargs, uvu): no network, the same version id
 * from two independent caches, and documents whose Read observations and Write contents are the
 * packages' exact bytes, with loss_mask 0 exactly on observation tokens.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { queryShards } from './helpers/duckdb.ts';
import { checkDocuments, datasetDir, ok, project, removeProjects, ROOT } from './fixtures/trajectory/harness.ts';

const YARGS = join(ROOT, 'node_modules/yargs');
const UVU = join(ROOT, 'node_modules/uvu');

test('offline provider: deterministic, no network, exact bytes, masked observations', async () => {
  // Exact bytes: hygiene's default email redaction (uvu's licence names one) is off here.
  const p = project({ sources: [YARGS, UVU], hygiene: { secrets: 'off' } });
  const [a, b] = await Promise.all([p.build('cache-a'), p.build('cache-b')]);
  const s = ok(a);
  ok(b);
  assert.is(s.llm.requests, 0);
  assert.is(s.llm.provider, 'offline');
  assert.ok(s.llm.calls > 20, `${s.llm.calls} calls`);
  assert.is(s.stages.llm.computed, s.llm.calls);
  assert.is(b.summary.version, s.version, 'two fresh builds gave different versions');

  const dir = datasetDir(p, s.version);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.is(manifest.trajectory.provider, 'offline');
  const check = await checkDocuments(dir, { yargs: YARGS, uvu: UVU });
  // No provider meta text and no fact the writer could not know (a line count of an unwritten file).
  for (const row of await queryShards(`SELECT id, text FROM read_parquet('${dir}/data/*.parquet')`)) {
    const text = String(row.text);
    assert.not.ok(text.includes('no language model'), `${row.id}: provider meta text`);
    assert.not.match(text, /\b(It has|has) \d+ lines?\b/);
    assert.not.match(text, /\(\d+ lines\)/);
  }
  assert.ok(check.reads > 10, `${check.reads} reads`);
  assert.ok(check.writes > 50, `${check.writes} writes`);

  const again = ok(await p.build('cache-a'));
  assert.is(again.llm.cached, s.llm.calls);
  assert.is(again.version, s.version);
});

test.after(removeProjects);
test.run();
