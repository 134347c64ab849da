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
  assert.match(changed.stdout, /ingest tiny:add\.js: inputs\.content/);
});

test.after(() => p.cleanup());
test.run();
