/**
 * Acceptance figures of the shared-cache issue, against a real nginx WebDAV server on loopback
 * (scripts/nginx-webdav.sh):
 *   1. the default config (embedded corpus): cold build vs a build on a fresh cache that answers
 *      everything from the remote, as a ratio (target <= 10%); full `retrace build` runs,
 *      process start included; then `cache push` and `cache pull` of that version;
 *   2. push and pull throughput with many small blobs (synthetic version, in process, through
 *      the same pushVersion/pullVersion code), in MB/s and blobs/s, over HTTP and a directory.
 *
 *   node --import tsx bench/remote-cache.ts [--runs 2] [--blobs 20000]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { initHash, type ActionKey } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { recordRoot } from '../src/cache/closure.ts';
import { RemoteCache } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { HttpStore } from '../src/cache/remote-http.ts';
import { pullVersion, pushVersion, type TransferReport } from '../src/cache/transfer.ts';
import { startWebdav } from '../test/helpers/webdav.ts';
import defaults from '../pipeline.config.ts';

const root = resolve(import.meta.dirname, '..');
const arg = (name: string, d: number) => Number(process.argv[process.argv.indexOf(name) + 1]) || d;
const runs = arg('--runs', 2);
const smallBlobs = arg('--blobs', 20000);
await initHash();

function cli(args: string[], cwd: string): { ms: number; json: any } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/retrace.js'), ...args, '--json'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`retrace ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, json: JSON.parse(r.stdout) };
}

const rate = (r: TransferReport): string => {
  const s = r.ms / 1000;
  return `${r.blobsMoved} blobs, ${(r.bytesMoved / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ${(r.bytesMoved / 1e6 / s).toFixed(1)} MB/s, ${Math.round(r.blobsMoved / s)} blobs/s`;
};

/** The default config with absolute source paths and a remote, as a plain-object config. */
function writeConfig(dir: string, url: string, mode: string): string {
  const sources = defaults.sources.map((s) => ('dir' in s && !isAbsolute(s.dir) ? { dir: join(root, s.dir) } : s));
  const file = join(dir, `${mode}.config.ts`);
  writeFileSync(file, `export default ${JSON.stringify({ ...defaults, sources, cache: { remote: { url, mode } } }, null, 2)};\n`);
  return file;
}

async function corpusRun(i: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-remote-'));
  const dav = await startWebdav();
  try {
    const off = writeConfig(dir, dav.url, 'off');
    const ro = writeConfig(dir, dav.url, 'read-only');
    const cold = cli(['build', '--config', off, '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    const push = cli(['cache', 'push', '--config', off, '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    const warm = cli(['build', '--config', ro, '--cache-dir', join(dir, 'b'), '--out', join(dir, 'outB')], dir);
    const computed = Object.values(warm.json.stages as Record<string, { computed: number }>).reduce((n, s) => n + s.computed, 0);
    if (warm.json.version !== cold.json.version || computed !== 0) throw new Error(`warm build differs: version ${warm.json.version}, computed ${computed}`);
    const pull = cli(['cache', 'pull', '--config', off, '--cache-dir', join(dir, 'c')], dir);
    // For scale: a no-op rebuild on the local cache (the floor: process start, reading sources).
    const noop = cli(['build', '--config', off, '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `corpus run ${i}: cold ${sec(cold.ms)} (${cold.json.documents} docs, ${cold.json.tokens} tokens), ` +
        `warm from remote on a fresh cache ${sec(warm.ms)} (computed 0, ${warm.json.remote.actionsFetched} results fetched, ${(warm.json.remote.bytesFetched / 1e6).toFixed(1)} MB): ` +
        `ratio ${((warm.ms / cold.ms) * 100).toFixed(1)}%; inside the build (no process start) ${sec(warm.json.ms)} / ${sec(cold.json.ms)} = ${((warm.json.ms / cold.json.ms) * 100).toFixed(1)}%; ` +
        `local no-op ${sec(noop.ms)} = ${((noop.ms / cold.ms) * 100).toFixed(1)}%`,
    );
    console.log(`  push ${push.json.actions} results: ${rate(push.json)}`);
    console.log(`  pull ${pull.json.actions} results: ${rate(pull.json)}`);
  } finally {
    await dav.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A synthetic version of `count` results, each with one 256 B - 4 KiB output blob. */
async function syntheticVersion(local: LmdbCache, count: number): Promise<void> {
  const keys: ActionKey[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const output = await local.putBlob(randomBytes(256 + Math.floor(Math.random() * 3840)));
      const key = randomBytes(16).toString('hex') as ActionKey;
      keys.push(key);
      await local.putAction(key, { format: 1, stage: 'bench', item: `item-${i}`, output, refs: [], parts: { stage: 'bench', version: '1', inputs: {}, settings: {} }, ms: 0, createdAt: Date.now(), usedAt: Date.now() });
    }),
  );
  await recordRoot(local, 'bench', 'v1', keys);
}

async function smallBlobRun(i: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-small-'));
  const dav = await startWebdav();
  try {
    const a = LmdbCache.open(join(dir, 'a'));
    await syntheticVersion(a, smallBlobs);
    for (const [label, store] of [['http', new HttpStore(dav.url, { maxConcurrency: 32 })], ['dir', new DirStore(join(dir, 'shared'))]] as const) {
      const remote = new RemoteCache(store, { requireSignatures: false });
      const push = await pushVersion(a, remote, 'bench', 'v1');
      const b = LmdbCache.open(join(dir, `b-${label}`));
      const pull = await pullVersion(new RemoteCache(store, { requireSignatures: false }), b, 'bench', 'v1');
      await b.close();
      console.log(`small blobs run ${i} (${label}): push ${rate(push)}; pull ${rate(pull)}`);
    }
    await a.close();
  } finally {
    await dav.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let i = 1; i <= runs; i++) await corpusRun(i);
for (let i = 1; i <= runs; i++) await smallBlobRun(i);
