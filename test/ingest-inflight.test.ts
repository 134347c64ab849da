import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allInOrder, Budget, InOrder, sourcesAtOnce } from '../stages/ingest/inflight.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { hashBytes, initHash } from '../src/hash.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('a budget admits while bytes and items fit, in arrival order, and one oversized item alone', async () => {
  const b = new Budget(100, 3);
  const got: string[] = [];
  await b.take(60);
  const second = b.take(50).then(() => got.push('50'));
  const third = b.take(10).then(() => got.push('10'));
  await tick();
  assert.equal(got, [], 'a later small item does not overtake a waiting one');
  b.give(60);
  await Promise.all([second, third]);
  assert.equal(got, ['50', '10']);
  assert.is(b.held, 60);
  assert.is(b.count, 2);
  b.give(50);
  b.give(10);
  // Larger than the whole budget: goes when nothing is held, and holds the rest back.
  await b.take(500);
  let small = false;
  const later = b.take(1).then(() => (small = true));
  await tick();
  assert.is(small, false);
  b.give(500);
  await later;
  assert.is(small, true);
  b.give(1);
  // The item cap.
  await b.take(1);
  await b.take(1);
  await b.take(1);
  let fourth = false;
  const f = b.take(1).then(() => (fourth = true));
  await tick();
  assert.is(fourth, false, 'a fourth item waits under maxItems 3');
  b.give(1);
  await f;
  assert.is(fourth, true);
});

test('sources at once follow the pool, within 4..32', () => {
  assert.is(sourcesAtOnce(1), 4);
  assert.is(sourcesAtOnce(2), 8);
  assert.is(sourcesAtOnce(64), 32);
});

test('in-order results: values in order; the first failure in order, after everything settled', async () => {
  assert.equal(await allInOrder([Promise.resolve(1), new Promise((r) => setTimeout(() => r(2), 5)), Promise.resolve(3)]), [1, 2, 3]);
  const o = new InOrder<number>();
  let lateDone = false;
  o.add(new Promise((_, rej) => setTimeout(() => rej(new Error('first in order')), 10)));
  o.add(Promise.reject(new Error('first in time')));
  o.add(new Promise((r) => setTimeout(() => { lateDone = true; r(3); }, 20)));
  await tick();
  assert.is(o.failed, true, 'failed as soon as one failed');
  try {
    await o.values();
    assert.unreachable('should throw');
  } catch (err) {
    assert.is((err as Error).message, 'first in order');
  }
  assert.is(lateDone, true, 'values() waited for every promise');
});

test('writes in flight together share commits; awaited one by one, each is a commit', async () => {
  await initHash();
  const dir = mkdtempSync(join(tmpdir(), 'retrace-inflight-'));
  const cache = LmdbCache.openAt(join(dir, 'lmdb'));
  try {
    const blobs = (tag: string) => Array.from({ length: 32 }, (_, i) => new TextEncoder().encode(`${tag} blob ${i}`));
    let t0 = cache.lastCommit();
    for (const b of blobs('one by one')) await cache.putBlob(b);
    const sequential = cache.lastCommit() - t0;
    t0 = cache.lastCommit();
    await Promise.all(blobs('together').map((b) => cache.putBlob(b)));
    const together = cache.lastCommit() - t0;
    assert.ok(sequential >= 32, `32 awaited writes: ${sequential} commits`);
    assert.ok(together <= 4, `32 writes in flight: ${together} commits`);
    for (const b of blobs('together')) assert.ok(await cache.getBlob(hashBytes(b)), 'every blob written together is there');
  } finally {
    await cache.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
