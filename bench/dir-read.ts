/**
 * How fast the directory reader (stages/ingest/dir.ts) reads a corpus, with the page cache warm
 * and cold: every package folder of --dir is opened as a `{ dir }` source and its files are
 * read in walk order, one source after another and then --sources-at-once together (as a build
 * admits them). "Cold" evicts the corpus's pages first with posix_fadvise(DONTNEED) (python3;
 * no root needed; clean pages only), which is what a first build of a corpus not read since
 * boot meets. Wall time and this process's CPU time (main + libuv pool threads).
 *
 *   node --import tsx bench/dir-read.ts [--dir /tmp/retrace-corpus-bench/corpus-200]
 *        [--repo <checkout>] [--runs 3] [--sources-at-once 8]
 *
 * --repo reads with another checkout's reader (e.g. the commit before a change), same corpus,
 * same process, so two runs of this script compare readers on the same disk.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values: o } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/retrace-corpus-bench/corpus-200' },
    repo: { type: 'string', default: resolve(import.meta.dirname, '..') },
    runs: { type: 'string', default: '3' },
    'sources-at-once': { type: 'string', default: '8' },
  },
});

const repo = resolve(o.repo!);
const { openDir } = (await import(pathToFileURL(join(repo, 'stages/ingest/dir.ts')).href)) as typeof import('../stages/ingest/dir.ts');
const { DEFAULT_LIMITS } = (await import(pathToFileURL(join(repo, 'stages/ingest/types.ts')).href)) as typeof import('../stages/ingest/types.ts');
const dirs = readdirSync(o.dir!).sort().map((n) => join(o.dir!, n));

const EVICT = `
import os, sys
n = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        try:
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); n += 1
        finally:
            os.close(fd)
print(n)
`;

function evict(): void {
  const r = spawnSync('python3', ['-c', EVICT, o.dir!], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`evicting the page cache failed: ${r.stderr}`);
}

async function readSource(dir: string): Promise<{ files: number; bytes: number }> {
  const src = await openDir(dir, dir, DEFAULT_LIMITS);
  let files = 0;
  let bytes = 0;
  for await (const f of src.files()) {
    files++;
    bytes += f.bytes.byteLength;
  }
  return { files, bytes };
}

async function pass(atOnce: number): Promise<{ wall: number; cpu: number; files: number; mb: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let files = 0;
  let bytes = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: atOnce }, async () => {
      while (next < dirs.length) {
        const r = await readSource(dirs[next++]!);
        files += r.files;
        bytes += r.bytes;
      }
    }),
  );
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, files, mb: bytes / 1024 / 1024 };
}

const runs = Number(o.runs);
const atOnce = Number(o['sources-at-once']);
console.log(`reader of ${repo}; ${dirs.length} sources in ${o.dir}; load ${loadavg()[0]!.toFixed(1)}`);
for (const [cache, n] of [['cold', 1], ['cold', atOnce], ['warm', 1], ['warm', atOnce]] as const) {
  const rows: Array<Awaited<ReturnType<typeof pass>>> = [];
  for (let i = 0; i < runs; i++) {
    if (cache === 'cold') evict();
    else await pass(n); // warms the cache and the JIT
    rows.push(await pass(n));
  }
  const med = (k: 'wall' | 'cpu') => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
  console.log(`${cache} cache, ${String(n).padStart(2)} source(s) at once: wall ${med('wall').toFixed(2)} s, CPU ${med('cpu').toFixed(2)} s, ${rows[0]!.files} files, ${(rows[0]!.mb / med('wall')).toFixed(1)} MB/s (medians of ${runs}; walls ${rows.map((r) => r.wall.toFixed(2)).join(' ')})`);
}
console.log(`load ${loadavg()[0]!.toFixed(1)}`);
