/**
 * A shared cache that cannot be turned against its readers (issue 19): a hostile file:// store
 * (a FIFO, a symlink to /dev/zero, a folder linked out of the store, a huge blob) and an HTTP
 * server with an endless body are refused within a deadline and a fixed memory bound, reported
 * by entry, and the build recomputes; unsigned remotes warn; credentials in URLs are stripped;
 * a hung LLM endpoint ends with LLM_TIMEOUT.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, ftruncateSync, closeSync, readdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hashBytes, initHash, type ActionKey, type ContentHash } from '../src/hash.ts';
import { actionPath, blobPath, RemoteCache } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { HttpStore } from '../src/cache/remote-http.ts';
import { redactUrl } from '../src/redact.ts';
import { LlmClient } from '../src/llm/client.ts';
import { startLlmServer } from './helpers/llm-server.ts';
import { Project } from './helpers/project.ts';
import { jsonAnswer } from './fixtures/trajectory/harness.ts';

await initHash();
const p = new Project('retrace-hostile-');
/** Extra resident memory a refused read may cost (the blobs below are up to 4 GiB or endless). */
const MEMORY_BOUND = 96 * 2 ** 20;

function record(output: ContentHash, size: number) {
  return { format: 1, stage: 'x', item: 'x', output, refs: [], sizes: { [output]: size }, parts: { stage: 'x', version: '1', inputs: {}, settings: {} }, ms: 0, createdAt: 0, usedAt: 0 };
}

async function bounded<T>(what: string, fn: () => Promise<T>, ms = 10_000): Promise<T> {
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const out = await fn();
  const grew = process.memoryUsage().rss - rss0;
  assert.ok(Date.now() - t0 < ms, `${what} took ${Date.now() - t0} ms`);
  assert.ok(grew < MEMORY_BOUND, `${what}: RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  return out;
}

test('a hostile file:// store: FIFO, /dev/zero link, folder out of the store, huge blob: refused, reported, bounded', async () => {
  const root = p.path('hostile');
  const store = new DirStore(root, { timeoutMs: 3000 });
  const remote = new RemoteCache(store, { requireSignatures: false });
  const problems: Array<{ code: string; item: string; message: string }> = [];
  remote.onProblem = (code, item, message) => problems.push({ code, item, message });
  const entries: Record<string, (file: string) => void> = {
    fifo: (f) => execFileSync('mkfifo', [f]),
    zero: (f) => symlinkSync('/dev/zero', f),
    huge: (f) => {
      const fd = openSync(f, 'w');
      ftruncateSync(fd, 4 * 2 ** 30); // sparse: 4 GiB that cost no disk
      closeSync(fd);
    },
  };
  for (const [name, make] of Object.entries(entries)) {
    const h = hashBytes(new TextEncoder().encode(name));
    const key = hashBytes(new TextEncoder().encode('key ' + name)) as unknown as ActionKey;
    mkdirSync(join(root, blobPath(h), '..'), { recursive: true });
    mkdirSync(join(root, actionPath(key), '..'), { recursive: true });
    writeFileSync(join(root, actionPath(key)), JSON.stringify(record(h, name.length)));
    make(join(root, blobPath(h)));
    const rec = await remote.getAction(key);
    assert.ok(rec, `${name}: the record itself is fine`);
    const got = await bounded(name, () => remote.getBlob(h));
    assert.is(got, undefined, `${name} was used`);
    const seen = problems.find((x) => x.item.includes(h));
    assert.ok(seen, `${name} was not reported: ${JSON.stringify(problems)}`);
    assert.is(seen!.code, 'REMOTE_ENTRY_REFUSED');
  }
  assert.match(problems.map((x) => x.message).join('\n'), /FIFO/);
  assert.match(problems.map((x) => x.message).join('\n'), /symbolic link/);
  assert.match(problems.map((x) => x.message).join('\n'), /4294967296 bytes, over the 4 bytes/);
  // A cas folder linked out of the store (to /dev): refused, not followed.
  const h = hashBytes(new TextEncoder().encode('outside'));
  rmSync(join(root, 'cas', h.slice(0, 2)), { recursive: true, force: true });
  symlinkSync('/dev', join(root, 'cas', h.slice(0, 2)));
  assert.is(await bounded('folder link', () => remote.getBlob(h)), undefined);
  assert.match(problems.at(-1)!.message, /resolves outside the store/);
  assert.is(remote.counters.refusedEntries, 4);
});

test('an endless HTTP body (and a lying Content-Length) is cut off at the size its record states', async () => {
  const h = hashBytes(new TextEncoder().encode('endless'));
  const key = hashBytes(new TextEncoder().encode('endless key')) as unknown as ActionKey;
  let served = 0;
  const server = createServer((req, res) => {
    if (req.url!.includes('/ac/')) return res.end(JSON.stringify(record(h, 1000)));
    if (req.url!.includes('/cas/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1 << 20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) served += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (served = served));
      return pump();
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const remote = new RemoteCache(new HttpStore(url, { timeoutMs: 5000, maxRetries: 2 }), { requireSignatures: false });
    const problems: string[] = [];
    remote.onProblem = (code, item, message) => problems.push(`${code} ${item} ${message}`);
    assert.ok(await remote.getAction(key));
    assert.is(await bounded('endless body', () => remote.getBlob(h)), undefined);
    assert.match(problems.join('\n'), /REMOTE_ENTRY_REFUSED .*cas\/.*over the 1000 bytes allowed/);
    assert.ok(served < 64 * 2 ** 20, `the server got to send ${served} bytes`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a build with a sabotaged file:// remote recomputes, reports the entries and warns it is unsigned', () => {
  p.repo('r', { 'a.js': "import { b } from './b.js';\nexport const a = b + 1;\n", 'b.js': 'export const b = 1;\n' });
  const store = p.path('store');
  p.config({ name: 'hostile', format: 'raw', sources: [{ dir: 'repos/r' }], workers: 1, cache: { remote: { url: pathToFileURL(store).href, timeoutMs: 3000 } } });
  const a = p.run(['build', '--json'], { cacheDir: p.path('cacheA'), outDir: p.path('outA') });
  assert.is(a.code, 0, a.stderr);
  assert.match(a.stderr, /REMOTE_UNSIGNED/);
  // Every blob on the remote becomes a FIFO or a link to /dev/zero.
  let n = 0;
  for (const dir of readdirSync(join(store, 'cas'))) {
    for (const f of readdirSync(join(store, 'cas', dir))) {
      const file = join(store, 'cas', dir, f);
      rmSync(file);
      if (n++ % 2) execFileSync('mkfifo', [file]);
      else symlinkSync('/dev/zero', file);
    }
  }
  assert.ok(n >= 5);
  const b = p.run(['build', '--json'], { cacheDir: p.path('cacheB'), outDir: p.path('outB') });
  assert.is(b.code, 0, b.stderr);
  assert.is(b.json.version, a.json.version);
  assert.match(b.stderr, /REMOTE_ENTRY_REFUSED/);
  assert.ok(b.json.remote.refusedEntries > 0);
  assert.ok(b.json.stages.ingest.computed > 0, 'nothing was recomputed');
});

test('credentials in URLs are stripped from the manifest, --json, warnings and errors', async () => {
  assert.is(redactUrl('https://alice:s3cret@git.example.com/x.git'), 'https://git.example.com/x.git');
  assert.is(redactUrl('see http://tok@h:1/v1?api_key=s3cret&x=1 now'), 'see http://h:1/v1?api_key=REDACTED&x=1 now');
  const server = await startLlmServer({ answer: jsonAnswer });
  try {
    const withCreds = server.url.replace('http://', 'http://alice:s3cret@');
    p.config({
      name: 'creds',
      format: 'trajectory',
      sources: [{ dir: 'repos/r' }],
      workers: 1,
      llm: { provider: 'openai', endpoint: { baseURL: withCreds, model: 'm', timeoutMs: 5000 } },
      cache: { remote: { url: 'http://bob:s3cret@127.0.0.1:9/cache', timeoutMs: 500, maxRetries: 0 } },
    });
    // Asynchronously: the LLM server answers from this process.
    const r = await p.spawn(['build', '--json', '--cache-dir', p.path('cacheC'), '--out', p.path('outC')]).done;
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stdout + r.stderr, /s3cret/);
    const manifest = readFileSync(join(p.path('outC'), 'creds', r.json.version, 'manifest.json'), 'utf8');
    assert.not.match(manifest, /s3cret|alice/);
    assert.match(manifest, /"baseURL": "http:\/\/127\.0\.0\.1:\d+\/v1"/);
  } finally {
    await server.close();
  }
});

test('a hung LLM endpoint ends every call with LLM_TIMEOUT, not after retries x timeout', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['timeout'] } });
  try {
    const client = new LlmClient({ baseURL: server.url, model: 'm', timeoutMs: 200, hungAfterMs: 500, maxRetries: 20, backoffBaseMs: 10, backoffCapMs: 50 });
    const t0 = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => client.chat({ messages: [{ role: 'user', content: `q${i}` }] })));
    const ms = Date.now() - t0;
    for (const r of results) {
      assert.is(r.status, 'rejected');
      assert.is((r as PromiseRejectedResult).reason.code, 'LLM_TIMEOUT');
    }
    assert.match((results[0] as PromiseRejectedResult).reason.message, /looks hung/);
    // 21 attempts x 200 ms per call without the breaker.
    assert.ok(ms < 3000, `took ${ms} ms`);
  } finally {
    await server.close();
  }
});

test.after(() => p.cleanup());
test.run();
