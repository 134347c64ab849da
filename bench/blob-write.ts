/**
 * Blob writes and the main thread (issue 17: no main-thread work on the hot path that another
 * thread can do). Writes N blobs of source-like text (compressible, over LMDB's compression
 * threshold) through `LmdbCache.putBlob` of a checkout, with up to 64 writes in flight as a build
 * has them, and prints the main thread's CPU time (utime + stime of the main thread's
 * /proc/self/task/<pid>/stat) beside the wall time. Before, putBlob wrote in a transaction
 * callback, which lmdb-js runs on the main thread inside the write transaction: the LZ4
 * compression and the copy of every blob happened there.
 *
 *   node --import tsx bench/blob-write.ts [--root /path/to/a/retrace/checkout] [--blobs 3000] [--kb 64] [--runs 3] [--in-flight 64]
 *
 * Many small writes (`--blobs 40000 --kb 0.25 --in-flight 1000`) show the fixed cost of a write.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const root = resolve(arg('--root') ?? join(import.meta.dirname, '..'));
const blobs = Number(arg('--blobs') ?? 3000);
const kb = Number(arg('--kb') ?? 64);
const runs = Number(arg('--runs') ?? 3);
const inFlight = Number(arg('--in-flight') ?? 64);

/** CPU time of this process's main thread so far (ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const { LmdbCache } = (await import(pathToFileURL(join(root, 'src/cache/lmdb-store.ts')).href)) as typeof import('../src/cache/lmdb-store.ts');
const { initHash } = (await import(pathToFileURL(join(root, 'src/hash.ts')).href)) as typeof import('../src/hash.ts');
await initHash();

const words = ['function', 'return', 'const', 'export', 'import', 'module.exports', 'require', '=>', '{', '}'];
const texts = Array.from({ length: blobs }, (_, i) => {
  const parts: string[] = [];
  let n = 0;
  for (let j = 0; n < kb * 1024; j++) {
    const w = j % 13 === 0 ? `id${i}_${j}` : words[(j * 7 + i) % words.length]!;
    parts.push(w);
    n += w.length + 1;
  }
  return new TextEncoder().encode(parts.join(' ').slice(0, kb * 1024));
});

console.log(`root ${root}: ${blobs} blobs of ${kb} KB, ${inFlight} in flight, ${runs} runs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let r = 0; r < runs; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-blob-write-'));
  const cache = LmdbCache.open(dir);
  const c0 = mainThreadCpuMs();
  const t0 = performance.now();
  const inflight = new Set<Promise<unknown>>();
  for (const t of texts) {
    const p = cache.putBlob(t).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= inFlight) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const wall = performance.now() - t0;
  const cpu = mainThreadCpuMs() - c0;
  await cache.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`run ${r + 1}: main thread ${cpu} CPU-ms, wall ${wall.toFixed(0)} ms (${((blobs * kb) / 1024 / (wall / 1000)).toFixed(0)} MB/s)`);
}
