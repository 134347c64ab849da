/**
 * `retrace status` before and after a build: it computes nothing, names what is stale and
 * tells how many LLM calls a trajectory build would make before it makes them.
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
  assert.is(before.json.estimates.llmCalls, 4, '1 plan call + 1 per code file');
  const stats = p.run(['cache', 'stats', '--json']);
  assert.is(stats.json.actions, 0, 'status computed nothing');
  const build = p.run(['build', '--json']);
  assert.is(build.code, 0, build.stderr);
  assert.is(build.json.llm.calls, before.json.estimates.llmCalls);
  const after = p.run(['status', '--json']);
  assert.is(after.json.upToDate, true);
  assert.equal(after.json.estimates, {});
  p.write('repos/tiny/add.js', 'exports.add = (a, b) => b + a;\n');
  const changed = p.run(['status']);
  assert.match(changed.stdout, /ingest tiny:add\.js: inputs\.content/);
});

test.after(() => p.cleanup());
test.run();
