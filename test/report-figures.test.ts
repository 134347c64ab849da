/**
 * Issue 16: the report's figures from manifests with and without the optional sections (shape,
 * search, hygiene, LLM cost) and with sections of unexpected shapes: never a crash, a figure
 * when the data is there, a reason when it is not. Also the histogram bins and the card's
 * license lookup.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { histogram, reportFigures } from '../stages/report/figures.ts';
import { renderReport } from '../stages/report/html.ts';
import { licensesOf } from '../stages/shard/card.ts';
import { RICH_BUILD, RICH_MANIFEST } from './fixtures/report/rich.ts';

test('every figure when every section is there', () => {
  const { figures, missing } = reportFigures(RICH_MANIFEST, RICH_BUILD);
  assert.equal(figures.map((f) => f.id), ['tokens-per-document', 'trained-vs-masked', 'document-parts', 'skip-reasons', 'stage-time', 'stage-cache', 'llm-calls', 'llm-tokens', 'llm-cost', 'search-ppl', 'hygiene']);
  assert.equal(missing, []);
  const byId = Object.fromEntries(figures.map((f) => [f.id, f]));
  assert.equal(byId['trained-vs-masked'].series.map((s) => s.data), [[600, 150000, 5000], [400, 50000, 0]]);
  assert.equal(byId['stage-time'].labels, ['ingest', 'tokenize'], 'stages the build did not use are left out');
  assert.equal(byId['search-ppl'].series[0].data, [3.2, 2.9, 2.7]);
  assert.equal(byId['document-parts'].labels, ['plan', 'think', 'read', 'write']);
  assert.equal(byId['hygiene'].labels, ['duplicates.exact', 'duplicates.near', 'secretsRedacted']);
  assert.equal(byId['skip-reasons'].labels, ['FILE_BINARY', 'FILE_MINIFIED', 'source excluded: SOURCE_EMPTY']);
  assert.equal(byId['skip-reasons'].series[0].data, [2, 1, 1]);
  const html = renderReport({ title: 't', facts: [], figures, missing });
  assert.is(html.match(/<canvas /g)?.length, figures.length);
  assert.not.match(html.slice(0, html.indexOf('<script>')), /https?:\/\//, 'nothing fetched');
});

test('an empty or odd manifest: no crash, every figure explained', () => {
  for (const m of [{}, { documents: 'x', sources: {}, shape: 'x', search: null, hygiene: [1, 2] }, { documents: [{ id: 'a' }], shape: { parts: { a: 'x' } } }]) {
    const { figures, missing } = reportFigures(m, undefined);
    assert.equal(figures, []);
    assert.ok(missing.length >= 6, JSON.stringify(missing));
    assert.ok(missing.every((x) => x.why.length > 0));
  }
  const noBuild = reportFigures({ documents: [{ id: 'a', tokens: 5 }] }, undefined);
  assert.match(noBuild.missing.find((x) => x.title.startsWith('Per-stage'))!.why, /no build\.json/);
});

test('histogram: equal widths for a narrow range, powers of two for a wide one; every value counted', () => {
  const narrow = histogram([10, 11, 12, 20]);
  assert.is(narrow.counts.reduce((a, b) => a + b, 0), 4);
  assert.is(narrow.labels[0], '10-10');
  const wide = histogram([1, 100, 5000, 100000]);
  assert.is(wide.counts.reduce((a, b) => a + b, 0), 4);
  assert.is(wide.labels[0], '1-1');
  assert.is(wide.labels[wide.labels.length - 1], '65536-131071');
});

test('card licenses: wherever the manifest records them; unknown ones are left out', () => {
  assert.equal(licensesOf({ license: { spdx: 'MIT' } }), ['MIT']);
  assert.equal(licensesOf({ sources: [{ license: 'Apache-2.0' }, { license: { spdx: 'MIT' } }, { license: 'unknown' }] }), ['Apache-2.0', 'MIT']);
  assert.equal(licensesOf({ license: { licenses: ['BSD-3-Clause', 'MIT'] } }), ['BSD-3-Clause', 'MIT']);
  assert.equal(licensesOf({}), []);
});

test.run();
