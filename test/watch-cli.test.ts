/**
 * `retrace build --watch` (issue 17: a one-line edit costs what it changes): the real pipeline in
 * one process, its workers kept between builds. A summary per build on stdout (JSON Lines with
 * --json); an edit builds the version a one-shot build of the edited sources gives; writes to the
 * cache and datasets folders (inside a watched source here) start no build; Ctrl-C while waiting
 * exits 0.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Project } from './helpers/project.ts';

/** The project: two repositories and a notes folder that holds the build's own cache and datasets folders. */
function project(util: string): Project {
  const p = new Project('retrace-watch-');
  p.repo('alpha', {
    'package.json': JSON.stringify({ name: 'alpha', version: '1.0.0', main: 'index.js' }),
    'index.js': "const { add } = require('./lib/util');\nmodule.exports = (xs) => xs.reduce(add, 0);\n",
    'lib/util.js': util,
  });
  p.repo('beta', { 'main.py': 'def greet(name):\n    return f"hello {name}"\n' });
  // The build's own cache and datasets folders are inside a watched source: their writes must start no build.
  p.write('notes/todo.js', '// nothing yet\n');
  p.config({ name: 'watched', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }, { dir: 'notes' }], workers: 2, cache: { dir: 'notes/cache' } });
  return p;
}
const EDITED = 'exports.add = (a, b) => b + a;\n';
const p = project('exports.add = (a, b) => a + b;\n');
const fresh = project(EDITED);
test.after(() => {
  p.cleanup();
  fresh.cleanup();
});

test('build --watch: one JSON summary per build; an edit gives the one-shot build\'s version; Ctrl-C while waiting exits 0', async () => {
  const w = p.spawn(['build', '--watch', '--json', '--events', '--out', 'notes/datasets']);
  const lines: any[] = [];
  let partial = '';
  w.child.stdout!.on('data', (d) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const l of parts) lines.push(JSON.parse(l));
  });
  const until = async (n: number, what: string) => {
    const end = Date.now() + 60_000;
    while (lines.length < n) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr:\n${(await Promise.race([w.done, new Promise<{ stderr: string }>((r) => setTimeout(() => r({ stderr: '(still running)' }), 10))])).stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await until(1, 'the first build');
    const cold = lines[0];
    assert.is(cold.documents, 3);
    assert.is(cold.stages.parse.computed, 4);
    p.write('repos/alpha/lib/util.js', EDITED);
    await until(2, 'the build after an edit');
    const edited = lines[1];
    assert.is.not(edited.version, cold.version);
    assert.is(edited.stages.parse.computed, 1, 'only the edited file is parsed');
    assert.is(edited.stages.tokenize.computed, 1, 'only its repository is tokenized');
    // The same sources built once, cold, in another folder: the same version.
    const oneShot = fresh.run(['build', '--json', '--out', 'notes/datasets']);
    assert.is(oneShot.code, 0, oneShot.stderr);
    assert.is(edited.version, oneShot.json.version);
    // Each wait for a change is an event (--events); a build started by the watch's own writes
    // (an up-to-date one too) would be followed by another wait.
    await new Promise((r) => setTimeout(r, 1000));
    assert.is(w.events.filter((e) => e.event === 'watching').length, 2, 'a build ran after the last change: the watch saw its own writes');
  } finally {
    w.child.kill('SIGINT');
  }
  const done = await w.done;
  assert.is(done.code, 0, done.stderr);
  assert.is(lines.length, 2, `exactly two builds were reported:\n${done.stdout}`);
});

test.run();
