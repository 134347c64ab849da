/**
 * A read of the LMDB cache that meets a transient transaction error (another process's commit
 * invalidated the read transaction, a reader slot) is retried on a fresh read transaction: the
 * entry is found and the cache is not marked damaged (issue 19). An error that persists is still
 * reported as damage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'retrace-readretry-'));

test('a transient read error is retried; a persistent one marks the cache damaged', async () => {
  await initHash();
  const cache = LmdbCache.open(dir);
  try {
    const h = await cache.putBlob(new TextEncoder().encode('some bytes worth reading back'));
    const h2 = await cache.putBlob(new TextEncoder().encode('other bytes, never read before'));
    const blobs = (cache as unknown as { blobs: { getBinary: (k: string) => unknown } }).blobs;
    const real = blobs.getBinary.bind(blobs);
    let failures = 1;
    blobs.getBinary = (k: string) => {
      if (failures-- > 0) throw new Error('MDB_BAD_RSLOT: Invalid reuse of reader locktable slot');
      return real(k);
    };
    const back = await cache.getBlob(h);
    assert.ok(back, 'found after one retry');
    assert.is(new TextDecoder().decode(back!), 'some bytes worth reading back');
    assert.is((cache as unknown as { damaged?: string }).damaged, undefined, 'not marked damaged');

    failures = 100;
    assert.is(await cache.getBlob(h2), undefined, 'a persistent error is a miss');
    assert.match(String((cache as unknown as { damaged?: string }).damaged), /MDB_BAD_RSLOT/);
  } finally {
    await cache.close().catch(() => undefined);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
