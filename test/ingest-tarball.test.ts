import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RetraceError } from '../src/errors.ts';
import { hashBytes, initHash } from '../src/hash.ts';
import { openSource } from '../stages/ingest/sources.ts';
import { collect, rawTgz, tempDirs } from './fixtures/ingest/repo.ts';

const { fresh, cleanup } = tempDirs();
test.after(cleanup);

function writeTgz(dir: string, name: string, bytes: Buffer): string {
  writeFileSync(join(dir, name), bytes);
  return name;
}

test('an npm-pack style archive: package/ stripped, sorted, named after package.json, hashed', async () => {
  const dir = fresh('npm');
  const archive = rawTgz([
    { path: 'package/package.json', body: '{"name":"@scope/demo","version":"1.0.0"}\n' },
    { path: 'package/src/z.js', body: 'z\n' },
    { path: 'package/src/', type: 'Directory' },
    { path: 'package/README.md', body: 'read me\n' },
    { path: 'package/bin/cli.js', body: '#!/usr/bin/env node\n', mode: 0o755 },
    { path: 'package/a.txt', body: 'a\n' },
    { path: 'package/a/b.js', body: 'b\n' },
  ]);
  const source = await openSource({ tarball: writeTgz(dir, 'demo-1.0.0.tgz', archive) }, dir);
  await initHash();
  assert.equal(source.identity, { kind: 'tarball', name: '@scope/demo', location: join(dir, 'demo-1.0.0.tgz'), tarballHash: hashBytes(archive) });
  const got = await collect(source);
  assert.equal(got.paths, ['README.md', 'a.txt', 'a/b.js', 'bin/cli.js', 'package.json', 'src/z.js']);
  assert.is(got.files.get('bin/cli.js')!.mode, 0o755);
  assert.is(got.text('src/z.js'), 'z\n');
});

test('no shared top folder: paths kept; name falls back to the archive basename', async () => {
  const dir = fresh('flat');
  // What `tar czf flat.tar.gz -C dir .` writes: a './' root entry and './'-prefixed paths.
  const archive = rawTgz([{ path: './', type: 'Directory' }, { path: './x.js', body: 'x\n' }, { path: './lib/y.js', body: 'y\n' }]);
  const source = await openSource({ tarball: writeTgz(dir, 'flat.tar.gz', archive) }, dir);
  assert.is(source.identity.name, 'flat');
  const got = await collect(source);
  assert.equal(got.paths, ['lib/y.js', 'x.js']);
  assert.equal(got.skipped, []);
});

test('traversal and absolute entries are skipped; links resolve inside the archive only', async () => {
  const dir = fresh('evil');
  const archive = rawTgz([
    { path: 'package/ok.js', body: 'ok\n' },
    { path: 'package/../../evil.js', body: 'escape\n' },
    { path: '/etc/cron.d/evil', body: 'absolute\n' },
    { path: 'package/link.js', type: 'SymbolicLink', linkpath: 'ok.js' },
    { path: 'package/out.js', type: 'SymbolicLink', linkpath: '../../etc/passwd' },
    { path: 'package/abs.js', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    { path: 'package/hard.js', type: 'Link', linkpath: 'package/ok.js' },
    { path: 'package/hard-out.js', type: 'Link', linkpath: '../etc/passwd' },
    { path: 'package/node_modules/dep/index.js', body: 'vendored\n' },
    { path: 'package/big.js', body: 'b\n'.repeat(100) },
  ]);
  const got = await collect(await openSource({ tarball: writeTgz(dir, 'evil.tgz', archive) }, dir, { maxFileBytes: 100, maxLineLength: 5000 }));
  assert.equal(got.paths, ['hard.js', 'link.js', 'ok.js']);
  assert.is(got.text('hard.js'), 'ok\n');
  assert.is(got.text('link.js'), 'ok\n');
  const codes = Object.fromEntries(got.skipped.map((s) => [s.path, s.code]));
  assert.equal(codes, {
    'package/../../evil.js': 'FILE_UNSAFE_PATH',
    '/etc/cron.d/evil': 'FILE_UNSAFE_PATH',
    'abs.js': 'FILE_SYMLINK_OUTSIDE',
    'big.js': 'FILE_TOO_LARGE',
    'hard-out.js': 'FILE_SYMLINK_OUTSIDE',
    node_modules: 'FILE_VENDORED',
    'out.js': 'FILE_SYMLINK_OUTSIDE',
  });
});

test('corrupt, truncated or non-tar files throw SOURCE_TARBALL_INVALID; missing ones SOURCE_NOT_FOUND', async () => {
  const dir = fresh('corrupt');
  const good = rawTgz([{ path: 'package/a.js', body: 'a\n'.repeat(1000) }]);
  const cases = {
    'garbage.tgz': Buffer.from('this is not an archive at all '.repeat(40)),
    'truncated.tgz': good.subarray(0, good.length - 10),
    'empty.tgz': Buffer.alloc(0),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    try {
      await openSource({ tarball: writeTgz(dir, name, bytes) }, dir);
      assert.unreachable(name);
    } catch (err) {
      assert.instance(err, RetraceError, name);
      assert.is((err as RetraceError).code, 'SOURCE_TARBALL_INVALID', name);
      assert.is((err as RetraceError).item, name);
    }
  }
  try {
    await openSource({ tarball: 'missing.tgz' }, dir);
    assert.unreachable('missing');
  } catch (err) {
    assert.is((err as RetraceError).code, 'SOURCE_NOT_FOUND');
    assert.is((err as RetraceError).item, 'missing.tgz');
  }
});

test.run();
