/**
 * Version roots in chunks (issue 17, flat memory): the executor streams the keys it used to the
 * cache in chunks, the root is a head naming them, and every reader (closure walk for push/pull,
 * pins, remote gc, prefetch) reads the same key set as the single JSON list did before.
 * A chunk size of 4 keys makes a few dozen keys span many chunks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Executor } from '../src/executor.ts';
import { MemoryCache } from '../src/cache/memory.ts';
import { decodeKeyChunk, decodeKeyList, decodeRootHead, openRoot, pinnedKeys, recordRoot, rootKey, rootKeyChunks, rootKeys, UsedKeys } from '../src/cache/closure.ts';
import { RemoteCache } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { pullVersion, pushVersion } from '../src/cache/transfer.ts';
import { gcRemote } from '../src/cache/remote-gc.ts';
import { hashText, initHash, type ActionKey, type ContentHash } from '../src/hash.ts';
import { defineStage } from '../src/stage.ts';
import type { TaskPool } from '../src/pool.ts';
import { NullReporter } from '../src/reporter.ts';
import { RetraceError } from '../src/errors.ts';

const pool: TaskPool = { threads: 1, run: async <T>(_m: string, p: unknown) => p as T, close: async () => undefined };
const encoder = new TextEncoder();

/** A stage keyed by its text only, so the same text in two repositories is the same key. */
const lines = defineStage({
  name: 'lines',
  version: '1',
  deps: [],
  description: 'line count',
  item: (i: { repo: string; text: string }) => `${i.repo}:${i.text}`,
  key: (i: { repo: string; text: string }) => ({ inputs: { text: hashText(i.text) }, settings: {} }),
  run: async (i: { repo: string; text: string }, ctx) => {
    const stored = await ctx.putBlob(encoder.encode(`bytes of ${i.text}`));
    return { lines: i.text.length, stored };
  },
});

/** 30 repositories x 3 files; file 0 is the same text everywhere (one key used 30 times, across chunks). */
async function build(cache: MemoryCache, chunkKeys = 4): Promise<{ exec: Executor; used: Set<ActionKey> }> {
  const exec = new Executor({ cache, pool, reporter: new NullReporter(true), rootChunkKeys: chunkKeys });
  const used = new Set<ActionKey>();
  for (let r = 0; r < 30; r++) {
    for (let f = 0; f < 3; f++) {
      const res = await exec.run(lines, { repo: `r${r}`, text: f === 0 ? 'shared file' : `repo ${r} file ${f}` });
      used.add(res.key);
    }
  }
  return { exec, used };
}

async function keysOf(cache: Pick<MemoryCache, 'getAction' | 'getBlob'>, name: string, id: string): Promise<ActionKey[]> {
  const root = (await cache.getAction(rootKey(name, id)))!;
  const out: ActionKey[] = [];
  for await (const chunk of rootKeyChunks((h) => cache.getBlob(h), root, `${name}/${id}`)) out.push(...chunk);
  return out;
}

test.before(async () => {
  await initHash();
});

test('the executor writes its keys in chunks while it runs; the root is a head naming them', async () => {
  const cache = new MemoryCache();
  const { exec, used } = await build(cache);
  assert.is(used.size, 61, '60 distinct files + 1 shared');
  // Chunks were written during the run (before any root), not at the end.
  assert.ok(exec.usedKeys.chunkCount >= 15, `chunks written during the build: ${exec.usedKeys.chunkCount}`);
  await recordRoot(cache, 'ds', 'v1', exec.usedKeys);
  const root = (await cache.getAction(rootKey('ds', 'v1')))!;
  const head = decodeRootHead((await cache.getBlob(root.output))!, 'ds/v1');
  assert.is(head.legacy, undefined);
  assert.ok(head.chunks.length >= 16, `${head.chunks.length} chunks`);
  assert.equal(root.refs, [...new Set(head.chunks)], 'the root record names its chunks (every tier keeps and moves them)');
  for (const h of [root.output, ...root.refs]) assert.is(root.sizes?.[h], (await cache.getBlob(h))!.byteLength, `size of ${h} stated`);
  // Each chunk: sorted, unique, at most 4 keys; the shared key repeats across chunks.
  let stored = 0;
  for (const h of head.chunks) {
    const keys = decodeKeyChunk((await cache.getBlob(h))!, h);
    assert.ok(keys.length <= 4);
    assert.equal(keys, [...new Set(keys)].sort());
    stored += keys.length;
  }
  assert.ok(stored > used.size, `duplicates across chunks are allowed (${stored} stored for ${used.size} keys)`);
  assert.is(head.keys, stored);
  // Read back: the same key set as the single list held, each key once.
  const read = await keysOf(cache, 'ds', 'v1');
  assert.is(read.length, used.size, 'repeats across chunks removed on read');
  assert.equal(new Set(read), used);
  const flat: ActionKey[] = [];
  for await (const k of rootKeys((h) => cache.getBlob(h), root, 'ds/v1')) flat.push(k);
  assert.equal(flat, read, 'rootKeys: the same keys one by one');
});

test('identical chunks share storage: a root of the same keys in the same order reuses them', async () => {
  const cache = new MemoryCache();
  const keys = [...(await build(cache)).used].sort();
  await recordRoot(cache, 'ds', 'a', keys, 8);
  const before = cache.blobs.size;
  await recordRoot(cache, 'ds', 'b', keys, 8);
  assert.is(cache.blobs.size, before, 'no new blob: same chunks, same head');
  assert.is((await cache.getAction(rootKey('ds', 'a')))!.output, (await cache.getAction(rootKey('ds', 'b')))!.output);
});

test('status mode records no chunks', async () => {
  const cache = new MemoryCache();
  await build(cache);
  const blobs = cache.blobs.size;
  const exec = new Executor({ cache, pool, reporter: new NullReporter(true), mode: 'status', rootChunkKeys: 2 });
  for (let r = 0; r < 5; r++) await exec.run(lines, { repo: `r${r}`, text: `repo ${r} file 1` });
  assert.is(exec.usedKeys.size, 5);
  assert.is(exec.usedKeys.chunkCount, 0);
  assert.is(cache.blobs.size, blobs);
});

test('closure walk: push to a shared directory and pull into a fresh cache give the same key set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-rootchunks-'));
  try {
    const a = new MemoryCache();
    const { exec, used } = await build(a);
    await recordRoot(a, 'ds', 'v1', exec.usedKeys);
    const remote = new RemoteCache(new DirStore(dir), { requireSignatures: false });
    const push = await pushVersion(a, remote, 'ds', 'v1');
    assert.is(push.actions, used.size);
    assert.is(push.actionsMoved, used.size);
    assert.is(push.blobsMoved, push.blobs, 'every blob (records, head, chunks) sent once');
    const again = await pushVersion(a, remote, 'ds', 'v1');
    assert.is(again.actionsMoved, 0);
    assert.is(again.blobsMoved, 0);

    const b = new MemoryCache();
    const pull = await pullVersion(remote, b, 'ds', 'latest');
    assert.is(pull.actions, used.size);
    assert.is(pull.actionsMoved, used.size);
    assert.is(pull.unavailable, 0);
    assert.equal(new Set(await keysOf(b, 'ds', 'v1')), used);
    for (const k of used) {
      const rec = (await b.getAction(k))!;
      assert.ok(rec, `record ${k} pulled`);
      for (const h of [rec.output, ...rec.refs]) assert.ok(await b.hasBlob(h), `blob ${h} pulled`);
    }
    // A fresh executor on the pulled cache computes nothing.
    const { exec: warm } = await build(b);
    assert.is(warm.statsFor('lines').computed, 0);

    // Pins: the kept set is the version's keys plus its root.
    const { keep, unknown } = await pinnedKeys(b, ['ds/v1', 'ds/nope']);
    assert.equal(unknown, ['ds/nope']);
    assert.equal(keep, new Set<string>([...used, rootKey('ds', 'v1')]));

    // Remote gc with everything expired keeps the pinned version's records, head and chunks.
    await remote.store.put('pins/ds/v1', encoder.encode('ds/v1'));
    const gc = await gcRemote(remote, { maxAgeMs: 0, localPins: [] });
    assert.equal(gc.pinned, ['ds/v1']);
    assert.is(gc.actionsRemoved, 0);
    const c = new MemoryCache();
    const again2 = await pullVersion(remote, c, 'ds', 'v1');
    assert.is(again2.unavailable, 0);
    assert.equal(new Set(await keysOf(c, 'ds', 'v1')), used);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a root written before chunking (one JSON list) is still read by every reader', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-rootchunks-'));
  try {
    const a = new MemoryCache();
    const { used } = await build(a);
    const list = [...used].sort();
    const output = await a.putBlob(encoder.encode(JSON.stringify(list)));
    const now = Date.now();
    await a.putAction(rootKey('old', 'v0'), { format: 1, stage: 'version', item: 'old/v0', output, refs: [], parts: { stage: 'version', version: '1', inputs: { keys: output }, settings: {} }, ms: 0, createdAt: now, usedAt: now });
    assert.equal(await keysOf(a, 'old', 'v0'), list);
    assert.equal(decodeKeyList((await a.getBlob(output))!, 'old/v0'), list);
    assert.equal((await pinnedKeys(a, ['old/v0'])).keep.size, used.size + 1);
    const remote = new RemoteCache(new DirStore(dir), { requireSignatures: false });
    assert.is((await pushVersion(a, remote, 'old', 'v0')).actions, used.size);
    const b = new MemoryCache();
    assert.is((await pullVersion(remote, b, 'old', 'v0')).actionsMoved, used.size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged roots are refused with CACHE_ROOT_INVALID naming the root', async () => {
  const a = new MemoryCache();
  const { exec } = await build(a);
  await recordRoot(a, 'ds', 'v1', exec.usedKeys);
  const root = (await a.getAction(rootKey('ds', 'v1')))!;
  const code = async (p: Promise<unknown>): Promise<RetraceError> => (await p.then(() => undefined, (e: unknown) => e)) as RetraceError;
  // The legacy decoder refuses a chunked head (its callers must stream the chunks).
  assert.throws(() => decodeKeyList((a.blobs.get(root.output) as Uint8Array), 'ds/v1'), (e: RetraceError) => e.code === 'CACHE_ROOT_INVALID');
  assert.throws(() => decodeRootHead(encoder.encode('{"format":"other"}'), 'ds/v1'), (e: RetraceError) => e.code === 'CACHE_ROOT_INVALID' && e.item === 'ds/v1');
  // A missing chunk: the walk fails naming the chunk and the root.
  const v = (await openRoot(a, 'ds', 'v1'))!;
  a.blobs.delete(v.head.chunks[3] as ContentHash);
  const err = await code(keysOf(a, 'ds', 'v1'));
  assert.instance(err, RetraceError);
  assert.is(err.code, 'CACHE_ROOT_INVALID');
  assert.match(err.message, /key chunk 4 of \d+ .* of version root ds\/v1 is missing/);
  // A chunk of the wrong shape.
  assert.throws(() => decodeKeyChunk(encoder.encode('RKC1abc'), 'x'), (e: RetraceError) => e.code === 'CACHE_ROOT_INVALID');
});

test('UsedKeys reports a failed chunk write when the root is recorded', async () => {
  const failing = { putBlob: async (): Promise<ContentHash> => { throw new Error('disk full'); } };
  const log = new UsedKeys(failing, 2);
  for (const t of ['a', 'b', 'c']) log.add(hashText(t) as unknown as ActionKey);
  const err = await log.finish().then(() => undefined, (e: Error) => e);
  assert.match(String(err), /disk full/);
});

test.run();
