/**
 * Several processes on one LMDB cache (two `retrace build`s sharing a cache): what one process
 * reads must not be judged from a read snapshot older than what another has committed, and what
 * one drops as damaged must not take away what another has written whole since.
 *
 * lmdb-js reads through one cached read transaction until its next timer turn or this process's
 * next commit. The other process runs here through spawnSync (test/helpers/cache-child.ts): this
 * process is blocked meanwhile, so its snapshot is exactly as old as a busy build's can be.
 * (No write of this process may be pending across a spawnSync: its writer thread would hold the
 * environment's write lock the child needs.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hashBytes, initHash, type ActionKey, type ContentHash } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'helpers/cache-child.ts');
const root = mkdtempSync(join(tmpdir(), 'retrace-race-'));
let n = 0;
const enc = new TextEncoder();
const dec = new TextDecoder();

function child(dir: string, op: 'put' | 'heal', text: string): { hash: string; found: string; dropped: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir, op, text], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A fresh environment (a directory of its own) and its cache. */
async function fresh(): Promise<{ dir: string; cache: LmdbCache }> {
  await initHash();
  const dir = join(root, `env-${n++}`);
  return { dir, cache: LmdbCache.openAt(dir) };
}

type Raw = { blobs: { put(k: string, v: Uint8Array): Promise<boolean>; doesExist(k: string): boolean } };

/** Wait until everything this process queued so far is committed (writes commit in order). */
async function settled(cache: LmdbCache): Promise<void> {
  await cache.putBlob(enc.encode(`flush ${n++} ${Math.random()}`));
}

test('a blob another process stored after this one\'s read snapshot began is found, not reported missing', async () => {
  const { dir, cache } = await fresh();
  try {
    const mine = await cache.putBlob(enc.encode('written before'));
    const text = 'stored by the other build while this one was busy';
    const h = hashBytes(enc.encode(text));
    // One synchronous stretch, as in a busy build: a read (the snapshot begins), the other
    // process's commit, then the reads that must see it.
    assert.ok(await cache.hasBlob(mine));
    const other = child(dir, 'put', text);
    assert.is(other.hash, h);
    const has = cache.hasBlob(h);
    const got = cache.getBlob(h);
    assert.ok(await has, 'hasBlob found it');
    const bytes = await got;
    assert.ok(bytes, 'getBlob found it (it was missing from the cached read snapshot)');
    assert.is(dec.decode(bytes!), text);
    assert.is(cache.dropped.length, 0);
  } finally {
    await cache.close();
  }
});

test('a blob read damaged from an old snapshot, and written whole since by another process, is neither dropped nor removed', async () => {
  const { dir, cache } = await fresh();
  try {
    const text = 'a blob both builds need';
    const h = hashBytes(enc.encode(text)) as ContentHash;
    await (cache as unknown as Raw).blobs.put(h, enc.encode('garbage under that address'));
    // This process's snapshot holds the damaged bytes; the other build finds them too, drops
    // them and stores the blob whole again.
    assert.ok(await cache.hasBlob(h));
    const other = child(dir, 'heal', text);
    assert.equal([other.found, other.dropped], ['missing', 1], 'the other build saw the damage');
    const bytes = await cache.getBlob(h);
    assert.ok(bytes, 'the whole blob is read, not a miss');
    assert.is(dec.decode(bytes!), text);
    assert.is(cache.dropped.length, 0, 'nothing dropped: the damage was already repaired');
    // A drop judged from the old snapshot (another path, or a read just before the repair) must
    // not remove the repaired blob either: the removal looks again in its write transaction.
    cache.dropEntry('blobs', h, 'judged from an old snapshot');
    await settled(cache);
    await new Promise((r) => setTimeout(r, 5)); // a new read snapshot
    const after = await cache.getBlob(h);
    assert.ok(after && dec.decode(after) === text, 'the repaired blob is still in the cache');
  } finally {
    await cache.close();
  }
});

test('an entry that is still damaged when its removal runs is removed (blob, record)', async () => {
  const { cache } = await fresh();
  try {
    const blobs = (cache as unknown as Raw).blobs;
    const h = hashBytes(enc.encode('the real bytes')) as ContentHash;
    await blobs.put(h, enc.encode('not the real bytes'));
    assert.is(await cache.getBlob(h), undefined);
    assert.is(cache.dropped.length, 1);
    await settled(cache);
    await new Promise((r) => setTimeout(r, 5));
    assert.is(blobs.doesExist(h), false, 'the damaged blob is gone');
    // A record whose output did not decode as its stage's (the executor's dropAction).
    const out = await cache.putBlob(enc.encode('not json'));
    const key = hashBytes(enc.encode('some action')) as unknown as ActionKey;
    const parts = { stage: 's', version: '1', inputs: {}, settings: {} };
    await cache.putAction(key, { format: 1, stage: 's', item: 'i', output: out, refs: [], sizes: {}, parts, ms: 1, createdAt: Date.now(), usedAt: Date.now() });
    await cache.dropAction(key, 'output does not decode');
    await settled(cache);
    await new Promise((r) => setTimeout(r, 5));
    assert.is(await cache.getAction(key), undefined, 'the record is gone');
  } finally {
    await cache.close();
  }
});

test('damaged mode keeps copies of its own: a Buffer handed to a worker after putBlob, or one getBlob returned, empties nothing', async () => {
  const { cache } = await fresh();
  try {
    cache.noteDamage('test: writes are kept in memory from here on');
    const text = 'x'.repeat(9000) + ' kept in memory'; // over Buffer's pool size: a buffer of its own
    const buf = Buffer.from(text);
    const h = await cache.putBlob(buf);
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(buf, [buf.buffer as ArrayBuffer]); // the caller moves its buffer to a worker
      assert.is(buf.length, 0, 'the caller\'s buffer is detached');
      const first = await cache.getBlob(h);
      assert.is(first && dec.decode(first), text, 'what putBlob kept is intact');
      port1.postMessage(first, [first!.buffer as ArrayBuffer]); // a stage moves what it read to a worker
      const second = await cache.getBlob(h);
      assert.is(second && dec.decode(second), text, 'what getBlob handed out was a copy');
    } finally {
      port1.close();
      port2.close();
    }
  } finally {
    await cache.close().catch(() => undefined);
  }
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
