/**
 * The smaller points of issue 19: temp folders left by killed builds are removed at the next
 * start (only those of processes that are gone), a full disk is DISK_FULL (never a usage error),
 * tarball names that are not UTF-8 are skipped like in dir and git sources, and gc/leases keep
 * what a running build uses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { asRetraceError, isDiskFull } from '../src/errors.ts';
import { hashBytes, initHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { FRESH_MS } from '../src/cache/lease.ts';
import { Project } from './helpers/project.ts';

await initHash();
const p = new Project('retrace-misc19-');
p.repo('r', { 'a.js': 'export const a = 1;\n' });

/** The pid of a process that has exited (so it is certainly not running). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('temp folders of killed builds are removed at the next build; a live process keeps its own', () => {
  p.config({ name: 'misc', format: 'raw', sources: [{ dir: 'repos/r' }], workers: 1 });
  const dead = deadPid();
  const nameDir = p.path('out', 'misc');
  const stale = join(nameDir, `.tmp-0123456789abcdef-${dead}-deadbeef`);
  const live = join(nameDir, `.tmp-0123456789abcdef-${process.pid}-cafef00d`);
  const shardTmp = join(tmpdir(), `retrace-shard-${dead}-AbC123`);
  for (const d of [stale, live, shardTmp]) mkdirSync(d, { recursive: true });
  const r = p.run(['build', '--json'], { cacheDir: p.path('cache'), outDir: p.path('out') });
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(stale), 'a dead build\'s half-written version survived');
  assert.not.ok(existsSync(shardTmp), 'a dead build\'s shard temp folder survived');
  assert.ok(existsSync(live), 'a running process\'s temp folder was removed');
  rmSync(live, { recursive: true });
});

test('a full disk is DISK_FULL wherever it surfaces, never a usage error', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/data/x' });
  const e = asRetraceError(enospc, 'STAGE_FAILED', 'repo:a.js');
  assert.is(e.code, 'DISK_FULL');
  assert.match(e.message, /no space left/);
  assert.match(e.hint!, /gc --max-size/);
  assert.ok(isDiskFull(new Error('wrapped', { cause: enospc })));
  assert.ok(isDiskFull(new Error('MDB_MAP_FULL: Environment mapsize limit reached')));
  assert.not.ok(isDiskFull(new Error('ENOENT: no such file')));
});

test('tarball names that are not UTF-8 are skipped (FILE_INVALID_UTF8), like dir and git sources', () => {
  const tgz = p.path('latin1.tgz');
  const py = `
import io, tarfile
with tarfile.open(${JSON.stringify(tgz)}, 'w:gz', format=tarfile.USTAR_FORMAT, encoding='latin-1') as t:
    for name, data in [('pkg/ok.js', b'export const ok = 1;\\n'), ('pkg/caf\\xe9.js', b'export const cafe = 2;\\n')]:
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
`;
  const made = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  p.config({ name: 'latin', format: 'raw', sources: [{ tarball: 'latin1.tgz' }], workers: 1 });
  const r = p.run(['build', '--json'], { cacheDir: p.path('cache'), outDir: p.path('out') });
  assert.is(r.code, 0, r.stderr);
  const manifest = JSON.parse(readFileSync(join(p.path('out'), 'latin', r.json.version, 'manifest.json'), 'utf8'));
  const src = manifest.sources[0];
  assert.is(src.files, 1);
  assert.equal(src.skipped.map((s: any) => s.code), ['FILE_INVALID_UTF8']);
});

test('gc keeps what a live build lease may use, and removes it once the build is gone', async () => {
  const dir = p.path('gc-lease');
  const build = LmdbCache.open(dir);
  await build.startBuildLease();
  // A blob written by the running build, not yet named by any record (the moment gc used to hit).
  const blob = await build.putBlob(new TextEncoder().encode('half-way through an item'));
  const gcProc = LmdbCache.open(dir);
  const r1 = await gcProc.gc({ maxAgeMs: 0, maxBytes: 0 });
  assert.is(r1.liveBuilds, 1);
  assert.ok(r1.keptForBuilds >= 1);
  assert.ok(await build.hasBlob(blob), 'gc removed a blob a running build had just written');
  await build.close();
  const r2 = await gcProc.gc({ maxAgeMs: 0 });
  assert.is(r2.liveBuilds, 0);
  assert.is(r2.blobsRemoved, 1);
  assert.not.ok(await gcProc.hasBlob(blob));
  await gcProc.close();
  assert.ok(FRESH_MS >= 60_000);
  assert.is(hashBytes(new TextEncoder().encode('half-way through an item')), blob);
});

test('the cache refuses use after close with a clear error instead of crashing the process', async () => {
  const c = LmdbCache.open(p.path('closed'));
  await c.close();
  let code = '';
  try {
    await c.getBlob(hashBytes(new Uint8Array([1])));
  } catch (err) {
    code = (err as { code: string }).code;
  }
  assert.is(code, 'CACHE_CLOSED');
});

test.after(() => p.cleanup());
test.run();
