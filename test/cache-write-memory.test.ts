/**
 * Flat memory (issue 17): a write to the local cache leaves nothing behind once it has committed.
 * Every write used to race against one promise that settles only if the environment is found
 * damaged, and each race left a reaction on it for the rest of the run: ~240 bytes of heap per
 * write, ~60 MB at 437 packages (a heap snapshot showed 285k promises held by `damageFound`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-cache-write-memory-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

test('committed writes keep no heap: 20,000 blob writes grow the live heap by well under 1.5 MB', async () => {
  await initHash();
  const cache = LmdbCache.open(join(tmp, 'cache'));
  try {
    let n = 0;
    const writeBatch = async (count: number): Promise<void> => {
      // Written in groups in flight together, as ingest does (one LMDB transaction per group).
      for (let done = 0; done < count; done += 1000) {
        await Promise.all(Array.from({ length: 1000 }, () => cache.putBlob(new TextEncoder().encode(`blob ${n++} of the write-memory test`))));
      }
    };
    await writeBatch(2000); // warm up: code, lmdb-js buffers
    const before = await settledHeap();
    await writeBatch(20_000);
    const after = await settledHeap();
    const grown = (after - before) / 1024 / 1024;
    assert.ok(grown < 1.5, `the live heap grew by ${grown.toFixed(2)} MB over 20,000 writes`);
  } finally {
    await cache.close();
  }
});

test.run();
