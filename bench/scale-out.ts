/**
 * Scale-out figure: 1 vs 2 local partition workers (`build --shard I/N`, --workers threads each,
 * default 1) plus `merge`, from a cold cache, on the embedded corpus or on >= 200 real npm packages
 * (`--packages N`, the corpus of bench/corpus-scale.ts).
 *
 *   node --import tsx bench/scale-out.ts [--packages 200] [--format trajectory|raw] [--workers 1]
 *        [--modes shared,remote] [--counts 1,2] [--runs 1] [--repo <checkout>] [--dir <bench dir>]
 *        [--keep-profiles <dir>]
 *
 * Modes: `shared`, the partitions and the merge of one machine use one cache directory (LMDB is
 * multi-process; a call in flight is claimed, so one partition waits for the other's result
 * instead of computing it again); `remote`, each has its own local cache and they meet in a
 * shared `file://` remote, as separate machines do.
 *
 * Printed per run: each partition's wall time, CPU (main thread / other threads, from /proc) and
 * peak RSS, the merge's, the wall time (partitions in parallel, then the merge), the total CPU, and
 * a model of the speed-up on 2 dedicated cores (each process's time bounded below by its main
 * thread's CPU and by its CPU over the cores it may use), because on a shared machine the
 * measured wall-clock ratio says more about the neighbours than about Retrace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { attribute, prepareCorpus, runner, type Usage } from './corpus-scale.ts';

const { values: o } = parseArgs({
  options: {
    repo: { type: 'string' },
    packages: { type: 'string' },
    format: { type: 'string', default: 'trajectory' },
    workers: { type: 'string', default: '1' },
    modes: { type: 'string', default: 'shared,remote' },
    counts: { type: 'string', default: '1,2' },
    runs: { type: 'string', default: '1' },
    dir: { type: 'string' },
    'keep-profiles': { type: 'string' },
  },
});
const repo = resolve(o.repo ?? join(import.meta.dirname, '..'));
const benchDir = resolve(o.dir ?? join(tmpdir(), 'retrace-corpus-bench'));
const workers = Number(o.workers);
const cores = availableParallelism();
const modes = o.modes.split(',') as Array<'shared' | 'remote'>;
for (const m of modes) if (m !== 'shared' && m !== 'remote') throw new Error(`--modes: unknown mode "${m}" (shared, remote)`);
const counts = o.counts.split(',').map(Number);

let sources: Array<{ dir: string }>;
let base: Record<string, unknown>;
if (o.packages) {
  mkdirSync(benchDir, { recursive: true });
  sources = prepareCorpus(repo, benchDir, Number(o.packages), (s) => console.error(s)).sources.map((dir) => ({ dir }));
  base = { name: `corpus-${o.packages}-${o.format}`, format: o.format, tokenizer: { name: 'llama3', bos: 128000, eos: 128001 }, output: { layout: 'documents', format: 'parquet', compression: 'zstd' } };
} else {
  const { default: cfg } = await import(join(repo, 'pipeline.config.ts'));
  sources = cfg.sources.map((s: { dir: string }) => ({ dir: join(repo, s.dir) }));
  base = { ...cfg, format: o.format };
}

interface Scaled {
  mode: string;
  count: number;
  parts: Usage[];
  merge: Usage;
  wallS: number;
  version: string;
  load: number;
}

async function scaled(mode: 'shared' | 'remote', count: number, dir: string, prof?: string): Promise<Scaled> {
  const retrace = runner(repo, dir);
  const config = join(dir, `${mode}-${count}.config.ts`);
  const cache = mode === 'remote' ? { remote: { url: `file://${join(dir, `remote-${mode}-${count}`)}` } } : undefined;
  writeFileSync(config, `export default ${JSON.stringify({ ...base, sources, workers, ...(cache ? { cache } : {}) })};\n`);
  const cacheDir = (who: string) => join(dir, mode === 'shared' ? `cache-${count}` : `cache-${count}-${who}`);
  const out = join(dir, `out-${mode}-${count}`);
  const load = loadavg()[0]!;
  const t0 = performance.now();
  const parts = await Promise.all(
    Array.from({ length: count }, (_, i) => retrace(['build', '--json', '--shard', `${i}/${count}`, '--config', config, '--cache-dir', cacheDir(`p${i}`), '--out', out], prof && join(prof, `p${i}`))),
  );
  const merge = await retrace(['merge', '--json', '--shards', String(count), '--config', config, '--cache-dir', cacheDir('merge'), '--out', out], prof && join(prof, 'merge'));
  return { mode, count, parts, merge, wallS: (performance.now() - t0) / 1000, version: merge.summary.version, load };
}

/** Lower bound of a process's wall time on `n` dedicated cores: its main thread, and its CPU spread over n. */
const floorS = (u: Usage, n: number): number => Math.max(u.mainCpuS ?? 0, u.cpuS / n);
const f = (x: number | undefined, d = 1) => (x === undefined ? '-' : x.toFixed(d));

for (let r = 0; r < Number(o.runs); r++) {
  const results: Scaled[] = [];
  for (const mode of modes) {
    for (const count of counts) {
      const dir = mkdtempSync(join(tmpdir(), 'retrace-scale-bench-'));
      try {
        const prof = o['keep-profiles'] ? join(dir, 'prof') : undefined;
        console.error(`${mode}, ${count} partition(s) x ${workers} worker thread(s) ...`);
        const s = await scaled(mode, count, dir, prof);
        results.push(s);
        console.error(
          `  ${mode} ${count}: ${f(s.wallS)} s wall (load ${s.load.toFixed(1)}); partitions ${s.parts.map((p) => `${f(p.wallS)} s / ${f(p.cpuS)} CPU-s (main ${f(p.mainCpuS)})`).join(', ')}; merge ${f(s.merge.wallS)} s / ${f(s.merge.cpuS)} CPU-s (main ${f(s.merge.mainCpuS)})`,
        );
        if (prof) {
          cpSync(prof, join(resolve(o['keep-profiles']!), `${mode}-${count}`), { recursive: true });
          for (const [who, u] of [...s.parts.map((p, i) => [`partition ${i}/${count}`, p] as const), ['merge', s.merge] as const]) {
            const a = attribute(join(prof, who === 'merge' ? 'merge' : `p${who.split(' ')[1]!.split('/')[0]}`), repo, u.cpuS);
            console.log(`  ${mode} ${who}: ${a.rows.slice(0, 10).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const versions = new Set(results.map((s) => s.version));
  if (versions.size > 1) throw new Error(`versions differ: ${results.map((s) => `${s.mode}/${s.count}: ${s.version}`).join(', ')}`);
  console.log(`\nrun ${r + 1}: ${sources.length} sources, format ${o.format}, ${workers} worker thread(s) per partition, ${cores} cores; same version ${[...versions][0]}`);
  console.log('mode    N  load  wall s  partitions: wall s / CPU s (main+other) / RSS MB             merge wall/CPU s  total CPU s  model s');
  for (const s of results) {
    const parts = s.parts.map((p) => `${f(p.wallS)}/${f(p.cpuS)} (${f(p.mainCpuS)}+${f(p.otherCpuS)})/${p.rssMB.toFixed(0)}`).join('  ');
    const cpu = s.parts.reduce((n, p) => n + p.cpuS, 0) + s.merge.cpuS;
    // Each of the N partitions gets cores/N cores (at least one), then the merge has them all.
    const model = Math.max(...s.parts.map((p) => floorS(p, Math.max(1, Math.min(workers + 1, cores / s.count))))) + floorS(s.merge, cores);
    console.log(`${s.mode.padEnd(6)}  ${s.count}  ${s.load.toFixed(1).padStart(4)}  ${f(s.wallS).padStart(6)}  ${parts.padEnd(62)}  ${f(s.merge.wallS)}/${f(s.merge.cpuS)}`.padEnd(112) + `  ${f(cpu).padStart(11)}  ${f(model).padStart(7)}`);
  }
  for (const mode of modes) {
    const one = results.find((s) => s.mode === mode && s.count === 1);
    for (const s of results.filter((x) => x.mode === mode && x.count > 1)) {
      if (!one) continue;
      const m1 = Math.max(...one.parts.map((p) => floorS(p, Math.min(workers + 1, cores)))) + floorS(one.merge, cores);
      const mN = Math.max(...s.parts.map((p) => floorS(p, Math.max(1, Math.min(workers + 1, cores / s.count))))) + floorS(s.merge, cores);
      const cpu = (x: Scaled) => x.parts.reduce((n, p) => n + p.cpuS, 0) + x.merge.cpuS;
      console.log(
        `${mode}: ${s.count} vs 1 partition: measured wall ${(one.wallS / s.wallS).toFixed(2)}x (load ${one.load.toFixed(1)} / ${s.load.toFixed(1)}); ` +
          `total CPU ${(cpu(s) / cpu(one)).toFixed(2)}x of one; critical path (slowest partition + merge) ${f(Math.max(...s.parts.map((p) => p.wallS)) + s.merge.wallS)} s vs ${f(one.parts[0]!.wallS + one.merge.wallS)} s; ` +
          `model on ${cores} dedicated cores ${(m1 / mN).toFixed(2)}x (${f(m1)} s vs ${f(mN)} s)`,
      );
    }
  }
}
