/**
 * The search offline (offline generator, offline cache-LM scorer) over the embedded corpus
 * (yargs, uvu) through the real `retrace` binary: code perplexity falls and thoughts grow, the
 * manifest reports both before and after, `retrace dataset show` prints them, and a rebuild
 * computes no score and gives the same version.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ok, ROOT } from './fixtures/trajectory/harness.ts';
import { removeSearchProjects, searchProject } from './fixtures/search/harness.ts';

const DIRS = { yargs: join(ROOT, 'node_modules/yargs'), uvu: join(ROOT, 'node_modules/uvu') };

test('offline search on the embedded corpus: mean code perplexity after < before, reported and printed', async () => {
  const p = searchProject(DIRS, { enabled: true });
  const s = ok(await p.build());
  assert.is(s.llm.requests, 0);
  const m = p.manifest(s.version).search;
  assert.ok(m.steps > 20, `${m.steps} steps`);
  assert.is(m.candidatesScored, m.steps * 2 * 3);
  assert.equal([m.K, m.iterations], [2, 3]);
  assert.equal(m.scorer.provider, 'offline');
  assert.equal(m.generator.provider, 'offline');
  assert.ok(m.accepted > 0);
  assert.ok(m.codePplAfter < m.codePplBefore, `perplexity ${m.codePplBefore} -> ${m.codePplAfter}`);
  assert.ok(m.meanThoughtCharsAfter > m.meanThoughtCharsBefore);
  // Honest figures: pooled over tokens, finite, never above a uniform guess over the vocabulary.
  for (const v of [m.codePplBefore, m.codePplAfter, m.stepPplBefore.median, m.stepPplBefore.p90, m.stepPplAfter.median, m.stepPplAfter.p90]) assert.ok(Number.isFinite(v) && v >= 1 && v <= 128_256, String(v));
  assert.ok(m.stepPplAfter.median <= m.stepPplAfter.p90);
  assert.is(s.stages.search.items, m.steps);

  const shown = execFileSync(process.execPath, [join(ROOT, 'bin/retrace.js'), 'dataset', 'show', s.version, '--config', join(p.dir, 'pipeline.config.ts'), '--out', join(p.dir, 'datasets')], { encoding: 'utf8' });
  assert.match(shown, new RegExp(`codePplBefore: ${+m.codePplBefore.toFixed(4)}\\n`));
  assert.match(shown, new RegExp(`codePplAfter: ${+m.codePplAfter.toFixed(4)}\\n`));
  assert.match(shown, /acceptanceRate: 0\.\d+/);
  assert.match(shown, /stepPplAfter: \{"median":/);
  // Per-step figures: `retrace show search repo:path`.
  const step = execFileSync(process.execPath, [join(ROOT, 'bin/retrace.js'), 'show', 'search', 'uvu:dist/index.js', '--config', join(p.dir, 'pipeline.config.ts'), '--cache-dir', join(p.dir, 'cache')], { encoding: 'utf8' });
  assert.match(step, /initial: code perplexity [\d.]+ \(\d+ tokens/);
  assert.match(step, /iteration 3: /);
  assert.match(step, /final: code perplexity [\d.]+/);

  const again = ok(await p.build());
  assert.is(again.stages.score.computed, 0);
  assert.is(again.stages.llm.computed, 0);
  assert.is(again.version, s.version);
});

test.after(removeSearchProjects);
test.run();
