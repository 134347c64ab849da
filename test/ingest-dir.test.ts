import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RetraceError } from '../src/errors.ts';
import { openSource } from '../stages/ingest/sources.ts';
import { collect, tempDirs, writeTree } from './fixtures/ingest/repo.ts';

const { fresh, cleanup } = tempDirs();
test.after(cleanup);

test('walks in plain sorted path order with posix relative paths and git-like modes', async () => {
  const root = fresh('order');
  writeTree(root, {
    'a/b.js': 'b\n',
    'a.txt': 'a\n',
    'B.md': 'B\n',
    'z/y/x.js': 'x\n',
    'é.txt': 'accent\n',
    'run.sh': { mode: 0o755, text: '#!/bin/sh\n' },
  });
  const source = await openSource({ dir: '.' }, root);
  const got = await collect(source);
  assert.equal(got.paths, ['B.md', 'a.txt', 'a/b.js', 'run.sh', 'z/y/x.js', 'é.txt']);
  assert.is(got.files.get('run.sh')!.mode, 0o755);
  assert.is(got.files.get('a.txt')!.mode, 0o644);
  assert.is(got.text('a/b.js'), 'b\n');
  assert.equal(source.identity, { kind: 'dir', name: basename(root), location: root });
  assert.equal(got.skipped, []);
});

test('nested .gitignore files, negation, .git/info/exclude, and .git itself', async () => {
  const root = fresh('ignore');
  writeTree(root, {
    '.gitignore': '*.log\nbuild/\n',
    'keep.js': 'k\n',
    'debug.log': 'ignored by root\n',
    'build/out.js': 'ignored dir\n',
    'pkg/.gitignore': 'secret.txt\n!important.log\n',
    'pkg/secret.txt': 'ignored by nested\n',
    'pkg/important.log': 're-included by nested\n',
    'pkg/other/secret.txt': 'nested rules apply below their dir\n',
    'secret.txt': 'not ignored at the root\n',
    '.git/info/exclude': 'local-only.js\n',
    '.git/config': '[core]\n',
    'local-only.js': 'excluded\n',
  });
  const got = await collect(await openSource({ dir: root }, '/elsewhere'));
  assert.equal(got.paths, ['.gitignore', 'keep.js', 'pkg/.gitignore', 'pkg/important.log', 'secret.txt']);
  assert.is(got.skip('debug.log')?.code, 'FILE_IGNORED');
  assert.is(got.skip('build')?.code, 'FILE_IGNORED', 'an ignored directory is recorded once, not descended');
  assert.is(got.skip('build/out.js'), undefined);
  assert.match(got.skip('pkg/secret.txt')!.reason, 'pkg/.gitignore');
  assert.is(got.skip('pkg/other/secret.txt')?.code, 'FILE_IGNORED');
  assert.match(got.skip('local-only.js')!.reason, '.git/info/exclude');
  assert.ok(!got.skipped.some((s) => s.path.startsWith('.git/') || s.path === '.git'), '.git is skipped silently');
});

test('each content skip reason, with vendored directories recorded once', async () => {
  const root = fresh('skips');
  writeTree(root, {
    'ok.js': 'fine\n',
    'node_modules/a/index.js': 'vendored\n',
    'node_modules/b/index.js': 'vendored\n',
    'lib/bower_components/c.js': 'vendored\n',
    'image.png': 'png',
    'nul.dat.txt': new Uint8Array([1, 2, 0, 3]),
    'latin1.js': new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
    'huge.js': 'x\n'.repeat(600),
    'long.js': 'y'.repeat(300),
    'app.min.js': 'z\n',
  });
  const got = await collect(await openSource({ dir: root }, '/', { maxFileBytes: 1000, maxLineLength: 200 }));
  assert.equal(got.paths, ['ok.js']);
  assert.equal(
    got.skipped.map((s) => [s.path, s.code]),
    [
      ['app.min.js', 'FILE_MINIFIED'],
      ['huge.js', 'FILE_TOO_LARGE'],
      ['image.png', 'FILE_BINARY'],
      ['latin1.js', 'FILE_INVALID_UTF8'],
      ['lib/bower_components', 'FILE_VENDORED'],
      ['long.js', 'FILE_MINIFIED'],
      ['node_modules', 'FILE_VENDORED'],
      ['nul.dat.txt', 'FILE_BINARY'],
    ],
  );
});

test('symlinks: followed to files inside, recorded for directories, skipped when outside or dangling', async () => {
  const outside = fresh('outside');
  writeFileSync(join(outside, 'secret.txt'), 'never read\n');
  const root = fresh('links');
  writeTree(root, {
    'real/file.js': 'real\n',
    'link-file.js': { symlink: 'real/file.js' },
    'chain.js': { symlink: 'link-file.js' },
    'link-dir': { symlink: 'real' },
    'link-out.txt': { symlink: join(outside, 'secret.txt') },
    'link-up.txt': { symlink: '../' + basename(outside) + '/secret.txt' },
    'dangling.js': { symlink: 'nope.js' },
    'loop-a': { symlink: 'loop-b' },
    'loop-b': { symlink: 'loop-a' },
  });
  const got = await collect(await openSource({ dir: root }, '/'));
  assert.equal(got.paths, ['chain.js', 'link-file.js', 'real/file.js']);
  assert.is(got.text('link-file.js'), 'real\n');
  assert.is(got.skip('link-dir')?.code, 'FILE_SYMLINK');
  for (const p of ['link-out.txt', 'link-up.txt', 'dangling.js', 'loop-a', 'loop-b']) assert.is(got.skip(p)?.code, 'FILE_SYMLINK_OUTSIDE', p);
  assert.not.ok(got.skipped.some((s) => s.path.startsWith('real')), 'the directory behind a symlink is read once, at its own path');
});

test('unreadable entries are skipped and the walk goes on', async () => {
  const root = fresh('unreadable');
  writeTree(root, { 'a.js': 'a\n', 'z.js': 'z\n' });
  execFileSync('mkfifo', [join(root, 'pipe')]);
  mkdirSync(join(root, 'locked'));
  writeFileSync(join(root, 'locked', 'x.js'), 'x\n');
  writeFileSync(join(root, 'noperm.js'), 'n\n');
  chmodSync(join(root, 'noperm.js'), 0);
  chmodSync(join(root, 'locked'), 0);
  try {
    const got = await collect(await openSource({ dir: root }, '/'));
    assert.is(got.skip('pipe')?.code, 'FILE_UNREADABLE', 'a fifo is never opened (it would block)');
    // Permissions do not bind root; check EACCES only where they do.
    if (process.getuid?.() !== 0) {
      assert.is(got.skip('noperm.js')?.code, 'FILE_UNREADABLE');
      assert.is(got.skip('locked')?.code, 'FILE_UNREADABLE');
      assert.equal(got.paths, ['a.js', 'z.js']);
    } else {
      assert.equal(got.paths, ['a.js', 'locked/x.js', 'noperm.js', 'z.js']);
    }
  } finally {
    chmodSync(join(root, 'locked'), 0o755);
  }
});

test('a missing or non-directory path throws SOURCE_NOT_FOUND with the configured path', async () => {
  const root = fresh('missing');
  writeFileSync(join(root, 'file.txt'), 'x');
  for (const dir of ['does/not/exist', 'file.txt']) {
    try {
      await openSource({ dir }, root);
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, RetraceError);
      assert.is((err as RetraceError).code, 'SOURCE_NOT_FOUND');
      assert.is((err as RetraceError).item, dir);
      assert.ok((err as RetraceError).hint);
    }
  }
});

test('an empty repository (nothing left after filtering) yields no files and does not throw', async () => {
  const root = fresh('empty');
  writeTree(root, { '.gitignore': '', 'node_modules/x.js': 'x\n' });
  const source = await openSource({ dir: root }, '/');
  const got = await collect(source);
  assert.equal(got.paths, ['.gitignore']);
  const bare = fresh('bare');
  assert.equal((await collect(await openSource({ dir: bare }, '/'))).paths, []);
});

test('files() can be iterated again and rebuilds the skipped list', async () => {
  const root = fresh('again');
  writeTree(root, { 'a.js': 'a\n', 'b.png': 'b' });
  const source = await openSource({ dir: root }, '/');
  const first = await collect(source);
  const second = await collect(source);
  assert.equal(second.paths, first.paths);
  assert.is(source.skipped.length, 1);
});

test.run();
