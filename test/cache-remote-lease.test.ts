/**
 * Leases and claims on a shared remote (issue 19, src/cache/remote-lease.ts): builds on machines
 * that share only the remote. A claim makes a second build wait for the first one's answer; a
 * dead holder's claim is taken over; remote gc keeps what a live build uploaded and removes it
 * once the build is gone. End to end: two concurrent trajectory builds with separate local
 * caches and one `file://` remote send each LLM call once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initHash, hashBytes } from '../src/hash.ts';
import type { ActionKey } from '../src/hash.ts';
import { openRemote } from '../src/cache/remote-cache.ts';
import { openRemoteStore } from '../src/cache/remote-store.ts';
import { gcRemote } from '../src/cache/remote-gc.ts';
import { claimPath, leasePath, liveRemoteLeases, RemoteLease } from '../src/cache/remote-lease.ts';
import { FIXTURES, jsonAnswer, ok, project, removeProjects, successes } from './fixtures/trajectory/harness.ts';
import { startLlmServer } from './helpers/llm-server.ts';

const dirs: string[] = [];
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'retrace-rlease-'));
  dirs.push(d);
  return d;
};
const key = (s: string): ActionKey => hashBytes(new TextEncoder().encode(s)) as unknown as ActionKey;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  await initHash();
});

test('a claim on the remote makes another build wait for the answer, then use it', async () => {
  const store = openRemoteStore(pathToFileURL(scratch()).href);
  const a = new RemoteLease(store, 'a-1', { pollMs: 20 });
  const b = new RemoteLease(store, 'b-1', { pollMs: 20 });
  await a.start(() => undefined);
  await b.start(() => undefined);
  try {
    const k = key('call-1');
    assert.is(await a.claim(k, async () => false), 'mine');
    let answered = false;
    const t0 = Date.now();
    const waiting = b.claim(k, async () => answered);
    await sleep(200);
    answered = true; // a's record reached the remote
    assert.is(await waiting, 'waited');
    assert.ok(Date.now() - t0 >= 190, 'b waited while a held the claim');
    // b does not hold it: a's release removes a's claim file.
    await a.release(k);
    assert.is(await store.get(claimPath(k)), undefined);
  } finally {
    await a.stop();
    await b.stop();
  }
  assert.is(await store.get(leasePath('a-1')), undefined, 'stop removes the lease file');
});

test('a claim whose holder stopped beating is taken over after the TTL; the old holder does not remove it', async () => {
  const store = openRemoteStore(pathToFileURL(scratch()).href);
  const dead = new RemoteLease(store, 'dead-1');
  const k = key('call-2');
  assert.is(await dead.claim(k, async () => false), 'mine'); // never started: no heartbeat
  const b = new RemoteLease(store, 'b-2', { ttlMs: 300, pollMs: 20 });
  const t0 = Date.now();
  assert.is(await b.claim(k, async () => false), 'waited');
  assert.ok(Date.now() - t0 >= 300, 'taken over only after the claim stayed unchanged for the TTL');
  await dead.release(k); // the old holder comes back: b's claim stays
  assert.match(new TextDecoder().decode((await store.get(claimPath(k)))!), /"owner":"b-2"/);
  await b.release(k);
  assert.is(await store.get(claimPath(k)), undefined);
});

test('remote gc keeps what a live build uploaded, and removes it once the build is gone', async () => {
  const dir = scratch();
  const remote = openRemote({ url: pathToFileURL(dir).href });
  const bytes = new TextEncoder().encode('an orphan blob a running build uploaded ahead of its record');
  const h = hashBytes(bytes);
  await remote.putBlob(h, bytes);
  const k = key('record-1');
  await remote.putAction(k, { format: 1, stage: 's', item: 'i', output: h, refs: [], parts: { stage: 's', version: '1', inputs: {}, settings: {} } as never, ms: 1, createdAt: Date.now(), usedAt: Date.now() });
  // A pack (push's many-records file) of a version whose root is gone.
  await remote.store.put('packs/gone/v1/0', new TextEncoder().encode('[]'));
  const lease = new RemoteLease(remote.store, 'build-1');
  await lease.start(() => undefined);
  try {
    const live = await liveRemoteLeases(remote.store, 0);
    assert.is(live.live, 1);
    assert.ok(live.protectFrom !== undefined && live.protectFrom <= live.serverNow);
    const kept = await gcRemote(remote, { maxAgeMs: 0, maxBytes: 0, localPins: [] });
    assert.is(kept.liveBuilds, 1);
    assert.is(kept.actionsRemoved, 0, 'a live build protects its records from --max-age 0 and --max-size 0');
    assert.is(kept.blobsRemoved, 0);
    assert.ok(await remote.store.has(`cas/${h.slice(0, 2)}/${h}`));
    assert.is(kept.packsRemoved, 0);
  } finally {
    await lease.stop();
  }
  await sleep(20);
  const gone = await gcRemote(remote, { maxAgeMs: 0, localPins: [] });
  assert.is(gone.liveBuilds, 0);
  assert.is(gone.actionsRemoved, 1);
  assert.is(gone.blobsRemoved, 1);
  assert.not.ok(await remote.store.has(`cas/${h.slice(0, 2)}/${h}`));
  assert.is(gone.packsRemoved, 1, 'the pack of a version without a root goes');
  assert.not.ok(await remote.store.has('packs/gone/v1/0'));
});

test('two concurrent trajectory builds on separate machines sharing a file:// remote send each LLM call once', async () => {
  const server = await startLlmServer({ answer: jsonAnswer, delayMs: 150 });
  const shared = scratch();
  try {
    const t = project({ sources: [join(FIXTURES, 'calc'), join(FIXTURES, 'notes')], llm: { provider: 'openai', endpoint: { baseURL: server.url, model: 'test-model', timeoutMs: 5000, maxRetries: 2, maxConcurrency: 4 } } });
    const { writeFileSync, readFileSync } = await import('node:fs');
    const cfgPath = join(t.dir, 'pipeline.config.ts');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8').replace(/^export default /, '').replace(/;\s*$/, ''));
    writeFileSync(cfgPath, `export default ${JSON.stringify({ ...cfg, cache: { remote: { url: pathToFileURL(shared).href, prefetch: false } } }, null, 2)};\n`);
    const [a, b] = await Promise.all([t.build('cache-machine-a'), t.build('cache-machine-b')]);
    const sa = ok(a);
    const sb = ok(b);
    assert.is(sa.version, sb.version);
    const sent = successes(server.log);
    const distinct = new Set(sent).size;
    assert.is(distinct, sa.llm.calls, 'each distinct request is one call of the build');
    assert.ok(distinct >= 9, `${distinct} calls`);
    assert.is(sent.length, distinct, `${sent.length} requests for ${distinct} distinct calls: a call was paid twice (llm a: ${JSON.stringify(sa.llm)}, b: ${JSON.stringify(sb.llm)})`);
  } finally {
    await server.close();
  }
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  removeProjects();
});

test.run();
