/**
 * The remote tier's parts in process: signatures, blob verification and trust rules, the
 * shared-directory store, the HTTP store's retries/auth/timeouts/concurrency bound (against a
 * loopback node:http server that misbehaves on purpose), the tiered cache, and config checks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBytes, initHash, type ActionKey } from '../src/hash.ts';
import { checkSignature, signRecord } from '../src/cache/sign.ts';
import { RemoteCache, actionPath, blobPath } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { HttpStore } from '../src/cache/remote-http.ts';
import { TieredCache } from '../src/cache/tiered.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import type { ActionRecord } from '../src/cache/cache.ts';
import { validateConfig } from '../src/config.ts';
import { configSection } from '../stages/config-schema.ts';
import { RetraceError } from '../src/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-cache-unit-'));
let n = 0;
const dir = () => join(tmp, `d${n++}`);
const bytes = (s: string) => new TextEncoder().encode(s);
const KEY = 'ab'.repeat(16) as ActionKey;

function record(output: string, refs: string[] = []): ActionRecord {
  return { format: 1, stage: 'ingest', item: 'repo:a.js', output: output as any, refs: refs as any, parts: { stage: 'ingest', version: '1', inputs: {}, settings: {} }, ms: 1, createdAt: 1, usedAt: 1 };
}

test.before(() => initHash());

test('signatures bind the record and its address', () => {
  const rec = record('00'.repeat(16));
  const sig = signRecord('k1', 'key-a', rec);
  assert.ok(checkSignature('k1', 'key-a', rec, sig));
  assert.not.ok(checkSignature('k2', 'key-a', rec, sig), 'another key');
  assert.not.ok(checkSignature('k1', 'key-b', rec, sig), 'replayed under another address');
  assert.not.ok(checkSignature('k1', 'key-a', { ...rec, output: '11'.repeat(16) }, sig), 'altered');
  assert.not.ok(checkSignature('k1', 'key-a', rec, 'zz'), 'malformed');
});

test('remote blobs are re-hashed: a damaged one is reported and never returned', async () => {
  const store = new DirStore(dir());
  const remote = new RemoteCache(store, { requireSignatures: false });
  const problems: string[] = [];
  remote.onProblem = (code) => problems.push(code);
  const data = bytes('hello blob');
  const h = hashBytes(data);
  await remote.putBlob(h, data);
  assert.equal(await remote.getBlob(h), data);
  writeFileSync(join(store.root, blobPath(h)), bytes('hellO blob'));
  assert.is(await remote.getBlob(h), undefined);
  assert.equal(problems, ['REMOTE_BLOB_CORRUPT']);
  assert.is(remote.counters.corruptBlobs, 1);
  assert.equal(await remote.missingBlobs([h]), [h], 'a known-bad blob counts as missing so it is sent again');
});

test('trust: with a key, unsigned and badly signed records are ignored; without one, unsigned are read', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { signingKey: 'secret', requireSignatures: true });
  await writer.putAction(KEY, record('00'.repeat(16)));
  assert.ok(await writer.getAction(KEY), 'signed and checked');
  const unsignedWriter = new RemoteCache(new DirStore(root), { requireSignatures: false });
  await unsignedWriter.putAction(KEY, record('00'.repeat(16)));
  assert.ok(await unsignedWriter.getAction(KEY), 'no key: unsigned records are used');
  assert.is(await writer.getAction(KEY), undefined, 'key: unsigned ignored');
  const lenient = new RemoteCache(new DirStore(root), { signingKey: 'secret', requireSignatures: false });
  assert.ok(await lenient.getAction(KEY), 'requireSignatures false: unsigned accepted');
  await new RemoteCache(new DirStore(root), { signingKey: 'other', requireSignatures: true }).putAction(KEY, record('00'.repeat(16)));
  assert.is(await lenient.getAction(KEY), undefined, 'a bad signature is never accepted');
  writeFileSync(join(root, actionPath(KEY)), '{"format":1,"stage":');
  assert.is(await unsignedWriter.getAction(KEY), undefined, 'malformed');
  assert.is(writer.counters.rejectedRecords + lenient.counters.rejectedRecords + unsignedWriter.counters.rejectedRecords, 3);
});

test('the shared-directory store writes atomically and lists only named files', async () => {
  const store = new DirStore(dir());
  await store.put('cas/aa/x', bytes('1'));
  await store.put('cas/aa/x', bytes('22'));
  await store.put('ac/bb/y', bytes('3'));
  assert.equal(await store.get('cas/aa/x'), bytes('22'));
  assert.equal(readdirSync(join(store.root, 'cas/aa')), ['x'], 'no temporary left behind');
  const list = (await store.list('cas')).map((f) => [f.path, f.size]);
  assert.equal(list, [['cas/aa/x', 2]]);
  await store.delete('cas/aa/x');
  assert.is(await store.get('cas/aa/x'), undefined);
});

/** A loopback server whose behaviour each test sets. */
async function server(handle: (req: any, res: any) => void): Promise<{ url: string; close(): Promise<void>; srv: Server }> {
  const srv = createServer(handle);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/base`, srv, close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }) };
}

test('HTTP: 503 is retried, 401 is not, and the token is sent as a bearer header', async () => {
  let calls = 0;
  let auth = '';
  const s = await server((req, res) => {
    calls++;
    auth = req.headers.authorization;
    if (req.url === '/base/flaky' && calls === 1) return res.writeHead(503).end();
    if (req.url === '/base/locked') return res.writeHead(401).end();
    res.writeHead(200).end('ok');
  });
  try {
    const store = new HttpStore(s.url, { token: 'tok', maxRetries: 2 });
    assert.equal(await store.get('flaky'), bytes('ok'));
    assert.is(calls, 2);
    assert.is(auth, 'Bearer tok');
    calls = 0;
    const err = await store.get('locked').catch((e) => e);
    assert.instance(err, RetraceError);
    assert.is(err.code, 'REMOTE_AUTH');
    assert.is(calls, 1, 'a refused token is not retried');
  } finally {
    await s.close();
  }
});

test('HTTP: HEAD of a blob over the record-size read limit is no refusal; a size other than the record states is', async () => {
  const big = 40 * 1024 * 1024; // a large document's token array: over MAX_RECORD_BYTES (16 MiB)
  const s = await server((req, res) => {
    if (req.method !== 'HEAD') return res.writeHead(405).end();
    res.writeHead(200, { 'content-length': big }).end();
  });
  try {
    const store = new HttpStore(s.url, { maxRetries: 0 });
    assert.is(await store.has('cas/ab/big'), true);
    assert.is(await store.has('cas/ab/big', big), true);
    const err = await store.has('cas/ab/big', 5).catch((e) => e);
    assert.instance(err, RetraceError);
    assert.is(err.code, 'REMOTE_ENTRY_REFUSED');
    assert.match(err.message, /41943040 bytes, not the 5 bytes its record states/);
  } finally {
    await s.close();
  }
});

test('HTTP: a silent server times out into REMOTE_FAILED; concurrency stays bounded', async () => {
  let inflight = 0;
  let peak = 0;
  const s = await server((req, res) => {
    if (req.url === '/base/hang') return; // never answers
    inflight++;
    peak = Math.max(peak, inflight);
    setTimeout(() => {
      inflight--;
      res.writeHead(404).end();
    }, 20);
  });
  try {
    const store = new HttpStore(s.url, { timeoutMs: 100, maxRetries: 1, maxConcurrency: 3 });
    const err = await store.get('hang').catch((e) => e);
    assert.is(err.code, 'REMOTE_FAILED');
    assert.match(err.message, /failed 2 times/);
    // The answering part with a timeout no loaded machine reaches (100 ms failed under load).
    const answering = new HttpStore(s.url, { timeoutMs: 10_000, maxRetries: 1, maxConcurrency: 3 });
    const found = await Promise.all(Array.from({ length: 12 }, (_, i) => answering.has(`x${i}`)));
    assert.ok(found.every((f) => f === false));
    assert.ok(peak <= 3, `peak concurrency ${peak}`);
    assert.equal(await answering.list('cas'), [], 'a 404 folder lists as empty');
  } finally {
    await s.close();
  }
});

test('tiered: a remote hit lands in the local tier with its blobs; read-only never writes; a failure turns the remote off once', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { requireSignatures: false });
  const out = bytes('output');
  const ref = bytes('ref');
  await writer.putBlob(hashBytes(out), out);
  await writer.putBlob(hashBytes(ref), ref);
  await writer.putAction(KEY, record(hashBytes(out), [hashBytes(ref)]));
  const local = LmdbCache.open(dir());
  const warnings: string[] = [];
  const store = new DirStore(root);
  let puts = 0;
  const put = store.put.bind(store);
  store.put = async (p, b) => {
    puts++;
    return put(p, b);
  };
  const ro = new TieredCache(local, new RemoteCache(store, { requireSignatures: false }), 'read-only', (code) => warnings.push(code));
  assert.ok(await ro.getAction(KEY));
  assert.ok(await ro.hasBlob(hashBytes(ref)), 'answered before the local write lands');
  await ro.flush();
  assert.ok(await local.getAction(KEY), 'record copied locally');
  assert.equal(new Uint8Array((await local.getBlob(hashBytes(ref)))!), ref, 'refs copied locally');
  await ro.putAction('cd'.repeat(16) as ActionKey, record(hashBytes(out)));
  await ro.flush();
  assert.is(puts, 0, 'read-only: nothing written');
  store.get = async () => {
    throw new RetraceError('REMOTE_FAILED', 'down');
  };
  assert.is(await ro.getAction('ef'.repeat(16) as ActionKey), undefined);
  assert.is(await ro.getBlob(hashBytes(bytes('nowhere'))), undefined);
  assert.equal(warnings, ['REMOTE_FAILED'], 'warned once, then off');
  assert.is(ro.summary().disabled, 'REMOTE_FAILED');
  await ro.close();
});

test('config: remote settings are checked with the path of the bad value', () => {
  const base = { name: 'x', format: 'raw', sources: [{ dir: '.' }] };
  const bad = (cache: unknown): RetraceError => {
    try {
      validateConfig({ ...base, cache }, configSection);
    } catch (e) {
      return e as RetraceError;
    }
    throw new Error('accepted');
  };
  assert.match(bad({ remote: { url: 'ftp://x' } }).item!, /config\.cache\.remote\.url/);
  assert.match(bad({ remote: { url: 'http://x', mode: 'sometimes' } }).item!, /config\.cache\.remote\.mode/);
  assert.match(bad({ remote: { url: 'http://x', requireSignatures: true } }).item!, /signingKeyEnv/);
  assert.match(bad({ remote: { url: 'http://x', token: 'inline' } }).message, /unknown key/);
  assert.ok(validateConfig({ ...base, cache: { remote: { url: 'file:///mnt/cache', mode: 'read-only', signingKeyEnv: 'K' } } }, configSection));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
