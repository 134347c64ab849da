/**
 * Issue 17, acceptance 3: 1M repositories' worth of action keys (75 per repository, 75M keys)
 * through the version root path, under the default heap (run it WITHOUT --max-old-space-size):
 * a real Executor on a real LMDB cache in a temp folder runs a few real items, then takes the
 * rest of the keys through the same `usedKeys.add` call its `run` makes for every item; chunks are
 * written to LMDB while keys arrive; `recordRoot` writes the head; the root is then read back as
 * a stream (what push/pull/pins walk) and every key is counted. Before issue 17 the keys sat in
 * one Set (V8 refuses more than 2^24 = 16.8M entries: a ~220k-repository build) and the root was
 * one JSON string (2^29 characters: ~15M keys).
 *
 * A share of the keys (--repeat, default 4%) repeats an earlier key, as identical files across
 * repositories do; some repeat within a chunk (removed there) and some across chunks (removed on read,
 * exactly up to READ_DEDUP_KEYS distinct keys).
 *
 *   node --import tsx bench/version-root-scale.ts [--repos 1000000] [--keys-per-repo 75] [--repeat 0.04]
 *
 * Prints peak RSS (and its anonymous part: RSS also counts LMDB's memory-mapped file pages),
 * peak V8 heap (sampled), CPU and wall time per phase, and the load average.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Executor } from '../src/executor.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { openRoot, READ_DEDUP_KEYS, recordRoot, rootKeyChunks } from '../src/cache/closure.ts';
import { hashText, initHash, type ActionKey } from '../src/hash.ts';
import { defineStage } from '../src/stage.ts';
import type { TaskPool } from '../src/pool.ts';
import { NullReporter } from '../src/reporter.ts';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const repos = arg('--repos', 1_000_000);
const perRepo = arg('--keys-per-repo', 75);
const repeat = arg('--repeat', 0.04);
const total = repos * perRepo;
await initHash();

const heapLimit = getHeapStatistics().heap_size_limit;
let peakHeap = 0;
// RSS counts the LMDB file's pages the process has mapped (reading the chunks back maps ~1 GB of
// them; the kernel reclaims them as needed): the anonymous part is the process's own memory.
let peakAnon = 0;
const rssAnon = (): number => {
  try {
    return Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
const sample = (): void => {
  peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
  peakAnon = Math.max(peakAnon, rssAnon());
};
const timer = setInterval(sample, 200);
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const w0 = performance.now();
  const c0 = cpuS();
  const out = await fn();
  sample();
  console.log(`${name.padEnd(28)} wall ${((performance.now() - w0) / 1000).toFixed(1)} s, cpu ${(cpuS() - c0).toFixed(1)} s, peak rss ${mb(process.resourceUsage().maxRSS * 1024)} (anonymous ${mb(peakAnon)}), peak heap ${mb(peakHeap)}`);
  return out;
};

// Random 128-bit keys, rendered as 32 hex digits like real keys (flat strings, as hashes are),
// from random bytes drawn a block at a time; `next` draws the repeat decisions.
const block = Buffer.allocUnsafe(16 * 65_536);
let at = block.byteLength;
const freshKey = (): ActionKey => {
  if (at === block.byteLength) {
    randomFillSync(block);
    at = 0;
  }
  at += 16;
  return block.toString('hex', at - 16, at) as ActionKey;
};
const next = (): number => Math.floor(Math.random() * 2 ** 32);

const dir = mkdtempSync(join(tmpdir(), 'retrace-rootscale-'));
console.log(`version-root-scale: ${repos.toLocaleString()} repositories x ${perRepo} keys = ${total.toLocaleString()} keys, ${(repeat * 100).toFixed(0)}% repeats; heap limit ${mb(heapLimit)} (default); cache ${dir}`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const cache = LmdbCache.open(dir);
try {
  const pool: TaskPool = { threads: 1, run: async <T>(_m: string, p: unknown) => p as T, close: async () => undefined };
  const exec = new Executor({ cache, pool, reporter: new NullReporter(true) });
  const stage = defineStage({
    name: 'lines',
    version: '1',
    deps: [],
    description: 'line count',
    item: (t: string) => t,
    key: (t: string) => ({ inputs: { text: hashText(t) }, settings: {} }),
    run: async (t: string) => ({ lines: t.split('\n').length }),
  });
  const real = new Set<ActionKey>();
  // A few real items first: their keys go through the executor's own bookkeeping.
  await phase('real executor items (100)', async () => {
    for (let i = 0; i < 100; i++) real.add((await exec.run(stage, `file ${i}\nline`)).key);
  });
  // The rest: the call `run` makes per item, 75M times, with chunk writes to LMDB in between.
  const recent: ActionKey[] = [];
  let repeats = 0;
  await phase('usedKeys.add x total', async () => {
    for (let i = real.size; i < total; i++) {
      let k: ActionKey;
      if (recent.length === 4096 && next() / 2 ** 32 < repeat) {
        k = recent[next() & 4095];
        repeats++;
      } else {
        k = freshKey();
        if (recent.length < 4096) recent.push(k);
        else recent[next() & 4095] = k;
      }
      exec.usedKeys.add(k);
      // Let chunk writes run now and then (a build awaits between items all the time).
      if ((i & 0xffff) === 0) await new Promise((r) => setImmediate(r));
      if (i % 5_000_000 === 0 && i > 0) {
        sample();
        console.log(`  ${(i / 1e6).toFixed(0)}M keys, ${exec.usedKeys.chunkCount} chunks, rss ${mb(process.memoryUsage.rss())}, peak heap ${mb(peakHeap)}, cpu ${cpuS().toFixed(0)} s, load ${loadavg()[0].toFixed(1)}`);
      }
    }
  });
  await phase('recordRoot (last chunk + head)', () => recordRoot(cache, 'bench', 'v1', exec.usedKeys));
  const v = (await openRoot(cache, 'bench', 'v1'))!;
  let read = 0;
  let realFound = 0;
  await phase('read root back (stream)', async () => {
    for await (const keys of rootKeyChunks((h) => cache.getBlob(h), v.root, 'bench/v1', { head: v.head })) {
      read += keys.length;
      for (const k of keys) if (real.has(k)) realFound++;
    }
  });
  const bytes = Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  console.log(`chunks ${v.head.chunks.length}, keys recorded ${v.head.keys.toLocaleString()} (repeats within a chunk removed), keys read ${read.toLocaleString()} (repeats across chunks removed up to ${READ_DEDUP_KEYS.toLocaleString()} distinct), generated repeats ${repeats.toLocaleString()}; real items found ${realFound}/${real.size}; LMDB file ${mb(bytes)}`);
  if (realFound !== real.size) throw new Error('the root lost keys of real items');
  if (read < total - repeats) throw new Error(`read ${read} keys, fewer than the ${total - repeats} distinct ones`);
  console.log(`peak rss ${mb(process.resourceUsage().maxRSS * 1024)} (anonymous ${mb(peakAnon)}; the rest is LMDB's mapped file), peak heap ${mb(peakHeap)} of ${mb(heapLimit)}; cpu ${cpuS().toFixed(1)} s; load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  clearInterval(timer);
  await cache.close();
  rmSync(dir, { recursive: true, force: true });
}
