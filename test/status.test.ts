/**
 * `retrace status` before and after a build: it computes nothing, names what is stale and
 * tells how many LLM calls a trajectory build would make at most before it makes them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Project } from './helpers/project.ts';

const p = new Project('retrace-status-');
p.repo('tiny', {
  'package.json': JSON.stringify({ name: 'tiny', main: 'index.js' }),
  'index.js': "const { add } = require('./add');\nmodule.exports = (a, b) => add(a, b);\n",
  'add.js': 'exports.add = (a, b) => a + b;\n',
  'mul.mjs': 'export const mul = (a, b) => a * b;\n',
});
p.config({ name: 'status', format: 'trajectory', sources: [{ dir: 'repos/tiny' }], workers: 1 });

test('status estimates the LLM calls, computes nothing, and is up to date after the build', () => {
  const before = p.run(['status', '--json']);
  assert.is(before.code, 0, before.stderr);
  assert.is(before.json.upToDate, false);
  // An upper bound: 1 plan call + llm.maxTurns (6) turns per code file.
  assert.is(before.json.estimates.llmCalls, 1 + 3 * 6);
  const stats = p.run(['cache', 'stats', '--json']);
  assert.is(stats.json.actions, 0, 'status computed nothing');
  const build = p.run(['build', '--json']);
  assert.is(build.code, 0, build.stderr);
  // The build: 1 plan call, and turns: add.js 1 (write), mul.mjs 1, index.js 2 (read add.js, write).
  assert.is(build.json.llm.calls, 5);
  assert.ok(build.json.llm.calls <= before.json.estimates.llmCalls);
  const after = p.run(['status', '--json']);
  assert.is(after.json.upToDate, true);
  assert.equal(after.json.estimates, {});
  p.write('repos/tiny/add.js', 'exports.add = (a, b) => b + a;\n');
  const changed = p.run(['status']);
  // Issue 16: the file is named, stages are counted in items as `build` counts them, and stages
  // this format never runs (raw rendering, search) are not listed.
  assert.match(changed.stdout, /ingest tiny:add\.js: the content of add\.js \(repository tiny\) changed/);
  assert.match(changed.stdout, /^  ingest +\d+ items cached +1 stale$/m);
  assert.not.match(changed.stdout, /^  (render|search|score|search-corpus) /m);
  assert.match(changed.stdout, /estimate: at most \d+ LLM call\(s\) for the 1 stale repository/);
});

test('explain names the changed file, also for items downstream of it', () => {
  const build = p.run(['build', '--json']);
  assert.is(build.code, 0, build.stderr);
  const ex = p.run(['explain', 'tiny']);
  assert.match(ex.stdout, /ingest tiny:add\.js .*\n  re-ran because:\n  the content of add\.js \(repository tiny\) changed/);
  assert.match(ex.stdout, /tokenize tiny .*\n  re-ran because:\n  its input text \(an upstream result\) changed: \w+… -> \w+…\n  files of tiny changed since its previous build: add\.js/);
  assert.not.match(ex.stdout, /[0-9a-f]{32}/, 'no full hashes');
});

test('status after gc: an evicted result is "evicted", not "dependency changed"', () => {
  const gc = p.run(['cache', 'gc', '--max-size', '1B', '--no-keep-latest', '--json']);
  assert.is(gc.code, 0, gc.stderr);
  assert.is(gc.json.liveBuilds, 0, `no build is running: ${gc.stdout}`);
  const st = p.run(['status']);
  assert.ok(/ingest tiny:\S+: same inputs, but its cached result was evicted \(cache gc\) or lost: it will be recomputed/.test(st.stdout), `gc: ${gc.stdout}\nstatus: ${st.stdout}${st.stderr}`);
  assert.not.match(st.stdout, /dependency changed/);
});

test.after(() => p.cleanup());
test.run();
