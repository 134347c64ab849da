/**
 * The same content packaged three ways (a directory, a git commit, an npm-pack style tarball)
 * must give the same files: same paths in the same order, same bytes, same modes, same skips.
 */
import { join } from 'node:path';
import { create } from 'tar';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSource, type SourceSpec } from '../stages/ingest/sources.ts';
import { collect, commitAll, git, removeDir, tempDir, writeTree } from './fixtures/ingest/repo.ts';

let work = '';
test.after(() => removeDir(work));

test('dir, git and tarball readers agree on paths, bytes, modes and skips', async () => {
  work = tempDir('same');
  const repo = join(work, 'demo');
  writeTree(repo, {
    '.gitignore': 'coverage/\n*.tmp\n',
    'package.json': '{"name":"demo"}\n',
    'a.txt': 'a\n',
    'a/b.js': 'import "./c.js";\n',
    'a/c.js': 'export {};\n',
    'src/ünïcode-名前.js': 'const x = "✓";\n',
    'bin/run.sh': { mode: 0o755, text: '#!/bin/sh\necho hi\n' },
    'docs/link.md': { symlink: '../a.txt' },
    'srcdir': { symlink: 'a' },
    'assets/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]),
    'node_modules/dep/index.js': 'module.exports = 1;\n',
    'dist/app.min.js': 'var a=1;\n',
    'latin1.txt': new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]),
    'coverage/report.txt': 'ignored, never committed\n',
    'scratch.tmp': 'ignored, never committed\n',
  });
  commitAll(repo, 'fixture');
  const tracked = git(repo, 'ls-files', '-z').split('\0').filter(Boolean);
  await create({ gzip: true, portable: true, file: join(work, 'demo-1.0.0.tgz'), cwd: repo, prefix: 'package/' }, tracked);

  const specs: SourceSpec[] = [{ dir: 'demo' }, { git: 'demo' }, { tarball: 'demo-1.0.0.tgz' }];
  const [dir, repoAtHead, tarball] = await Promise.all(specs.map(async (spec) => collect(await openSource(spec, work))));

  assert.equal(dir.paths, ['.gitignore', 'a.txt', 'a/b.js', 'a/c.js', 'bin/run.sh', 'docs/link.md', 'package.json', 'src/ünïcode-名前.js']);
  for (const other of [repoAtHead, tarball]) {
    assert.equal(other.paths, dir.paths);
    for (const path of dir.paths) {
      const a = dir.files.get(path)!;
      const b = other.files.get(path)!;
      assert.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), `bytes of ${path}`);
      assert.is(b.mode, a.mode, `mode of ${path}`);
    }
    // The directory also reports what .gitignore kept out; the others never saw those files.
    assert.equal(other.skipped, dir.skipped.filter((s) => s.code !== 'FILE_IGNORED'));
  }
  assert.is(dir.files.get('bin/run.sh')!.mode, 0o755);
  assert.equal(
    dir.skipped.map((s) => [s.path, s.code]),
    [
      ['assets/logo.png', 'FILE_BINARY'],
      ['coverage', 'FILE_IGNORED'],
      ['dist/app.min.js', 'FILE_MINIFIED'],
      ['latin1.txt', 'FILE_INVALID_UTF8'],
      ['node_modules', 'FILE_VENDORED'],
      ['scratch.tmp', 'FILE_IGNORED'],
      ['srcdir', 'FILE_SYMLINK'],
    ],
  );
});

test.run();
