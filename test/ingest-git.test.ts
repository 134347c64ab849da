import { readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RetraceError } from '../src/errors.ts';
import { gitRepoName, isRemoteGit } from '../stages/ingest/git.ts';
import { openSource, type SourceSpec } from '../stages/ingest/sources.ts';
import { collect, commitAll, git, removeDir, tempDirs, writeTree } from './fixtures/ingest/repo.ts';

const { fresh, cleanup } = tempDirs();
test.after(cleanup);

async function gitError(spec: SourceSpec, baseDir: string): Promise<RetraceError> {
  try {
    await openSource(spec, baseDir);
  } catch (err) {
    assert.instance(err, RetraceError);
    return err as RetraceError;
  }
  throw new Error('expected openSource to throw');
}

test('reads the tree of the commit, not the work tree; an older rev gives the older files', async () => {
  const root = fresh('revs');
  writeTree(root, { 'src/a.js': 'v1\n', 'old.js': 'removed later\n' });
  const first = commitAll(root, 'first');
  writeTree(root, { 'src/a.js': 'v2\n', 'src/b.js': 'new\n' });
  git(root, 'rm', '-q', 'old.js');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'second');
  const second = git(root, 'rev-parse', 'HEAD');
  writeTree(root, { 'src/a.js': 'uncommitted edit\n', 'untracked.js': 'never committed\n' });

  const head = await openSource({ git: '.' }, root);
  assert.is(head.identity.commit, second);
  assert.equal(head.identity, { kind: 'git', name: basename(root), location: root, commit: second });
  const now = await collect(head);
  assert.equal(now.paths, ['src/a.js', 'src/b.js']);
  assert.is(now.text('src/a.js'), 'v2\n');

  const old = await openSource({ git: root, rev: first.slice(0, 10) }, '/');
  assert.is(old.identity.commit, first);
  const then = await collect(old);
  assert.equal(then.paths, ['old.js', 'src/a.js']);
  assert.is(then.text('src/a.js'), 'v1\n');

  const byBranch = await openSource({ git: root, rev: 'main~1' }, '/');
  assert.is(byBranch.identity.commit, first);
});

test('filters apply to committed files; symlinks and submodules are resolved inside the tree', async () => {
  const root = fresh('filters');
  writeTree(root, {
    'ok.js': 'ok\n',
    'run.sh': { mode: 0o755, text: '#!/bin/sh\n' },
    'node_modules/dep/index.js': 'vendored\n',
    'node_modules/dep/other.js': 'vendored\n',
    'logo.png': 'png',
    'latin1.txt': new Uint8Array([0xe9, 0x0a]),
    'lib/real.js': 'real\n',
    'lib/link.js': { symlink: 'real.js' },
    'up.js': { symlink: 'lib/../lib/link.js' },
    'libdir': { symlink: 'lib' },
    'escape.js': { symlink: '../outside.js' },
    'abs.js': { symlink: '/etc/passwd' },
    'dangling.js': { symlink: 'missing.js' },
  });
  commitAll(root, 'all');
  // A gitlink entry (what a submodule leaves in the tree), pointing at any commit id.
  git(root, 'update-index', '--add', '--cacheinfo', `160000,${git(root, 'rev-parse', 'HEAD')},sub`);
  git(root, 'commit', '-q', '-m', 'submodule');

  const got = await collect(await openSource({ git: root }, '/'));
  assert.equal(got.paths, ['lib/link.js', 'lib/real.js', 'ok.js', 'run.sh', 'up.js']);
  assert.is(got.text('up.js'), 'real\n');
  assert.is(got.files.get('run.sh')!.mode, 0o755);
  const codes = Object.fromEntries(got.skipped.map((s) => [s.path, s.code]));
  assert.equal(codes, {
    'abs.js': 'FILE_SYMLINK_OUTSIDE',
    'dangling.js': 'FILE_SYMLINK_OUTSIDE',
    'escape.js': 'FILE_SYMLINK_OUTSIDE',
    'latin1.txt': 'FILE_INVALID_UTF8',
    libdir: 'FILE_SYMLINK',
    'logo.png': 'FILE_BINARY',
    node_modules: 'FILE_VENDORED',
    sub: 'FILE_VENDORED',
  });
  assert.match(got.skip('sub')!.reason, 'submodule');
});

test('a non-local URL is cloned bare into a cache and read at the pinned commit', async () => {
  const root = fresh('remote');
  writeTree(root, { 'index.js': 'remote\n' });
  const sha = commitAll(root, 'one');
  const url = `file://${root}`;
  try {
    const source = await openSource({ git: url, rev: sha }, '/unused');
    assert.equal(source.identity, { kind: 'git', name: basename(root), location: url, commit: sha });
    assert.equal((await collect(source)).paths, ['index.js']);
    // Second open hits the cache; HEAD moves, so it fetches and sees the new commit.
    writeFileSync(join(root, 'index.js'), 'moved\n');
    git(root, 'commit', '-q', '-am', 'two');
    const again = await collect(await openSource({ git: url }, '/unused'));
    assert.is(again.text('index.js'), 'moved\n');
  } finally {
    const cache = join(tmpdir(), 'retrace-git');
    for (const name of readdirSync(cache)) if (name.startsWith(basename(root) + '-')) removeDir(join(cache, name));
  }
});

test('errors: missing path, not a repository root, unknown revision, unreachable URL', async () => {
  const missing = await gitError({ git: 'nope' }, fresh('missing'));
  assert.is(missing.code, 'SOURCE_NOT_FOUND');
  assert.is(missing.item, 'nope');

  const root = fresh('errors');
  writeTree(root, { 'sub/a.js': 'a\n' });
  commitAll(root, 'c');
  const inner = await gitError({ git: 'sub' }, root);
  assert.is(inner.code, 'SOURCE_GIT_FAILED');
  // Issue 16: not git's "not a git repository", but where the repository is and how to name the folder.
  assert.match(inner.message, `git source is a folder inside the repository ${root}, not its root`);
  assert.match(inner.hint!, `{ git: '${root}', subdir: 'sub' }`);

  const badRev = await gitError({ git: root, rev: 'no-such-branch' }, '/');
  assert.is(badRev.code, 'SOURCE_GIT_FAILED');
  assert.match(badRev.message, 'no-such-branch');
  assert.match(badRev.hint!, 'no-such-branch');

  const dashRev = await gitError({ git: root, rev: '--output=/tmp/x' }, '/');
  assert.is(dashRev.code, 'SOURCE_GIT_FAILED', 'a rev is never taken as an option');

  const url = await gitError({ git: `file://${root}/does-not-exist` }, '/');
  assert.is(url.code, 'SOURCE_GIT_FAILED');
});

test('an empty commit yields no files', async () => {
  const root = fresh('empty');
  git(root, 'init', '-q');
  git(root, 'commit', '-q', '--allow-empty', '-m', 'nothing');
  const got = await collect(await openSource({ git: root }, '/'));
  assert.equal(got.paths, []);
  assert.equal(got.skipped, []);
});

test('repository names and remote detection', () => {
  assert.is(gitRepoName('/x/repo'), 'repo');
  assert.is(gitRepoName('/x/repo.git/'), 'repo');
  assert.is(gitRepoName('/x/repo/.git'), 'repo');
  assert.is(gitRepoName('https://github.com/o/r.git'), 'r');
  assert.is(gitRepoName('git@github.com:o/r.git'), 'r');
  assert.ok(isRemoteGit('https://github.com/o/r'));
  assert.ok(isRemoteGit('git@github.com:o/r.git'));
  assert.ok(isRemoteGit('file:///srv/r.git'));
  assert.not.ok(isRemoteGit('../r'));
  assert.not.ok(isRemoteGit('/srv/r.git'));
});

test.run();
