/**
 * A write that cannot commit fails with CACHE_TIMEOUT instead of hanging the build: another
 * process holds LMDB's write lock (here: a writer asleep inside its transaction) for longer than
 * RETRACE_CACHE_TIMEOUT_MS. The error names the cache and says what to do; later writes fail at
 * once with it; nothing the lock holder did is lost, and the cache opens sound afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RetraceError } from '../src/errors.ts';
import { hashBytes, initHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';

// Read once per process, at the first write: set before any.
process.env.RETRACE_CACHE_TIMEOUT_MS = '500';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'retrace-cache-timeout-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('a write blocked by another process holding the write lock fails with CACHE_TIMEOUT, and the cache stays sound', async () => {
  await initHash();
  const cacheDir = join(tmp, 'cache');
  // Create the environment, then let a second process take the write lock and sleep in it.
  // (Opened before the lock is taken: lmdb-js opens its databases in a write transaction, so an
  // open waits for the lock, synchronously.)
  const cache = LmdbCache.open(cacheDir);
  const before = await cache.putBlob(new TextEncoder().encode('written before the lock'));

  const holdMs = 3000;
  const script = `
    import { open } from 'lmdb';
    const root = open({ path: ${JSON.stringify(join(cacheDir, 'lmdb'))}, maxDbs: 8, mapSize: 2 ** 40, overlappingSync: false });
    const meta = root.openDB({ name: 'lock-holder', encoding: 'msgpack' });
    root.transactionSync(() => {
      meta.putSync('held', true);
      process.stdout.write('locked\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
    });
    root.close();`;
  const holder = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((ok) => holder.on('exit', ok));
  await new Promise<void>((ok, fail) => {
    holder.stdout.on('data', (d) => String(d).includes('locked') && ok());
    holder.on('exit', (code) => fail(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });

  const t0 = Date.now();
  const blocked = new TextEncoder().encode('written while another process holds the lock');
  const err = await cache.putBlob(blocked).then(
    () => undefined,
    (e: unknown) => e,
  );
  const waited = Date.now() - t0;
  assert.instance(err, RetraceError, `expected CACHE_TIMEOUT, got ${String(err)}`);
  assert.is((err as RetraceError).code, 'CACHE_TIMEOUT');
  assert.is((err as RetraceError).item, join(cacheDir, 'lmdb'));
  assert.match((err as RetraceError).hint ?? '', /write lock/);
  assert.ok(waited >= 450 && waited < holdMs, `failed after ${waited} ms (timeout 500 ms, lock held ${holdMs} ms)`);
  // The cache is stuck for this run: a later write fails at once, with the same error.
  const t1 = Date.now();
  const again = await cache.putBlob(new TextEncoder().encode('another write')).then(() => undefined, (e: unknown) => e);
  assert.is(again, err);
  assert.ok(Date.now() - t1 < 100, 'a later write waited again');

  assert.is(await exited, 0, 'the lock holder did not finish');
  await cache.close();
  // Afterwards the cache opens, holds what was written before, and takes writes again.
  const after = LmdbCache.open(cacheDir);
  try {
    assert.is(Buffer.from((await after.getBlob(before))!).toString(), 'written before the lock');
    const h = await after.putBlob(new TextEncoder().encode('written after'));
    assert.is(h, hashBytes(new TextEncoder().encode('written after')));
  } finally {
    await after.close();
  }
});

test('no timer outlives the writes: once they have committed, nothing of the cache keeps the process alive', async () => {
  await initHash();
  const cache = LmdbCache.open(join(tmp, 'idle'));
  try {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const writes = Array.from({ length: 200 }, (_, i) => cache.putBlob(new TextEncoder().encode(`blob ${i}`)));
    assert.ok(timers() > before, 'a timer watches the writes while they wait');
    await Promise.all(writes);
    // (At most as many as before: a timer of someone else's may have ended meanwhile.)
    assert.ok(timers() <= before, `a timer is left after every write committed (${timers()} timers, ${before} before the writes)`);
  } finally {
    await cache.close();
  }
});

test.run();
