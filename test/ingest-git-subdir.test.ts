/**
 * Issue 16: `{ git, rev, subdir }` sources (a package of a monorepo at a commit) and the errors
 * around them: a plain folder, a folder inside a repository, a subdir that is missing or a file,
 * and a subdir the config rejects. Then a whole build of two packages of one repository.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RetraceError } from '../src/errors.ts';
import { openSource, type SourceSpec } from '../stages/ingest/sources.ts';
import { collect, commitAll, tempDirs, writeTree } from './fixtures/ingest/repo.ts';
import { Project } from './helpers/project.ts';

const { fresh, cleanup } = tempDirs();

async function error(spec: SourceSpec, baseDir: string): Promise<RetraceError> {
  try {
    await openSource(spec, baseDir);
  } catch (err) {
    assert.instance(err, RetraceError);
    return err as RetraceError;
  }
  throw new Error('expected openSource to throw');
}

test('subdir: only that folder of the commit, paths relative to it, named after it', async () => {
  const root = fresh('mono');
  writeTree(root, { 'packages/core/index.js': 'core v1\n', 'packages/core/lib/x.js': 'x\n', 'packages/cli/main.js': 'cli\n', 'README.md': 'top\n' });
  const first = commitAll(root, 'one');
  writeTree(root, { 'packages/core/index.js': 'core v2\n' });
  commitAll(root, 'two');
  const src = await openSource({ git: '.', subdir: 'packages/core' }, root);
  assert.is(src.identity.name, 'core');
  const files = await collect(src);
  assert.equal(files.paths, ['index.js', 'lib/x.js']);
  assert.is(files.text('index.js'), 'core v2\n');
  const old = await collect(await openSource({ git: '.', rev: first, subdir: 'packages/core/' }, root));
  assert.is(old.text('index.js'), 'core v1\n');

  const missing = await error({ git: '.', subdir: 'packages/nope' }, root);
  assert.is(missing.code, 'SOURCE_NOT_FOUND');
  assert.match(missing.message, 'subdir "packages/nope" is not a folder in commit');
  const file = await error({ git: '.', subdir: 'README.md' }, root);
  assert.match(file.message, 'subdir "README.md" is a file, not a folder,');
});

test('a plain folder is not called "not a git repository"', async () => {
  const plain = fresh('plain');
  writeTree(plain, { 'a.js': 'a\n' });
  const e = await error({ git: '.' }, plain);
  assert.is(e.code, 'SOURCE_GIT_FAILED');
  assert.is(e.message, 'git source is a folder that is not in any git repository');
  assert.match(e.hint!, '{ dir: ... }');
});

test('build: two packages of one repository; a bad subdir is a config error naming its path', () => {
  const p = new Project('retrace-subdir-');
  try {
    writeTree(p.path('mono'), { 'packages/a/index.js': 'export const a = 1;\n', 'packages/b/index.js': "import { a } from '../a/index.js';\nexport const b = a;\n" });
    commitAll(p.path('mono'), 'c');
    p.config({ name: 'mono', format: 'raw', sources: [{ git: 'mono', subdir: 'packages/a' }, { git: 'mono', subdir: 'packages/b' }], workers: 1 });
    const r = p.run(['build', '--json']);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.json.documents, 2);
    p.config({ name: 'mono', format: 'raw', sources: [{ git: 'mono', subdir: '../etc' }] });
    const bad = p.run(['build']);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /CONFIG_INVALID .*sources\[0\]\.subdir/);
  } finally {
    p.cleanup();
  }
});

test.after(cleanup);
test.run();
