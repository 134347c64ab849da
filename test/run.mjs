#!/usr/bin/env node
// `npm test`: the typecheck and every test/*.test.ts file, run as separate processes, N at a
// time (N = the machine's cores; RETRACE_TEST_JOBS overrides). Most test files drive the real
// `retrace` binary one build after another and keep about one core busy, so on 2 cores two files
// at a time take about half the wall time of uvu's one-process, one-file-after-another run.
// Each file runs in its own uvu process (no state shared between files); the light ones are run
// a few per process to pay node + tsx start once for them. Heaviest first, so the long files do
// not end up last. A job's output is printed whole when it ends, then its CPU time (the process
// and every child it waited for) and wall time; a table of all jobs closes the run.
//
//   node test/run.mjs [regex over file names, default \.test\.ts$] [--no-typecheck] [--jobs N] [--list]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Seconds each file takes alone on an idle 2-core machine (about half its CPU seconds, measured
 * with this runner's table): the order of the queue, longest first. Files not listed are taken
 * as light (1 s).
 */
const WEIGHT = {
  'trajectory': 42, 'trajectory-parts': 38, 'e2e-build': 35, 'e2e-robust': 30, 'cache-heal': 28,
  'cache-concurrency': 26, 'scale-out': 26, 'search-network': 24, 'cache-remote-http': 22, 'slurm': 21,
  'report-browser': 21, 'cache-share': 13, 'partial-strict': 12, 'status': 10, 'hygiene-build': 10,
  'bad-input': 8, 'cache-concurrency-hostile': 7, 'e2e-layouts': 6, 'trajectory-corpus': 6,
  'search-corpus': 6, 'trajectory-reconstruct': 5, 'cache-concurrency-misc': 5, 'file-limits': 5,
  'languages-build': 5, 'ingest-git-subdir': 4, 'progress-pty': 4, 'tokenizer': 6,
  'cache-remote-lease': 15, 'shard-incremental': 10, 'source-memo': 12, 'tokenize-pieces': 6, 'worker-start': 5,
  // Alone, not only for its time: it sets RETRACE_CACHE_TIMEOUT_MS for its whole process.
  'cache-timeout': 4,
};
/** Files lighter than this share a uvu process, up to BATCH seconds of them. */
const LIGHT = 3;
const BATCH = 6;

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  args.splice(i, 1);
  return true;
};
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const noTypecheck = flag('--no-typecheck');
const listOnly = flag('--list');
const jobsArg = option('--jobs') ?? process.env.RETRACE_TEST_JOBS;
const jobs = Math.max(1, Number(jobsArg) || availableParallelism());
const pattern = new RegExp(args[0] ?? '\\.test\\.ts$');

const files = readdirSync(join(ROOT, 'test'))
  .filter((f) => f.endsWith('.test.ts') && pattern.test(f))
  .map((f) => f.slice(0, -'.test.ts'.length));
if (files.length === 0) {
  console.error(`test/run.mjs: no test file matches ${pattern}`);
  process.exit(1);
}
const weight = (f) => WEIGHT[f] ?? 1;
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Jobs: heavy files alone, light ones batched; heaviest first.
const queue = [];
const heavy = files.filter((f) => weight(f) >= LIGHT).sort((a, b) => weight(b) - weight(a));
for (const f of heavy) queue.push({ name: f, files: [f], weight: weight(f) });
let batch = [];
let batchCpu = 0;
const flush = () => {
  if (batch.length) queue.push({ name: batch.join(','), files: batch, weight: batchCpu });
  batch = [];
  batchCpu = 0;
};
for (const f of files.filter((f) => weight(f) < LIGHT).sort((a, b) => weight(b) - weight(a))) {
  if (batchCpu + weight(f) > BATCH) flush();
  batch.push(f);
  batchCpu += weight(f);
}
flush();
queue.sort((a, b) => b.weight - a.weight);

const tck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const tmp = mkdtempSync(join(tmpdir(), 'retrace-testrun-'));
const started = Date.now();
const results = [];

function command(job, i) {
  const hook = ['--import', join(ROOT, 'test/helpers/cpu-hook.mjs')];
  if (job.typecheck) return [...hook, join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.'];
  const regex = job.files.length === 1 ? `^${escape(job.files[0])}\\.test\\.ts$` : `^(${job.files.map(escape).join('|')})\\.test\\.ts$`;
  return [...hook, '--import', 'tsx', join(ROOT, 'node_modules/uvu/bin.js'), 'test', regex];
}

function runJob(job, i) {
  return new Promise((resolve) => {
    const cpuFile = join(tmp, `cpu-${i}.json`);
    const t0 = Date.now();
    const child = spawn(process.execPath, command(job, i), { cwd: ROOT, env: { ...process.env, RETRACE_TEST_CPU_FILE: cpuFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code, signal) => {
      const wall = (Date.now() - t0) / 1000;
      let cpu;
      let cpuSelf;
      try {
        const { ticks } = JSON.parse(readFileSync(cpuFile, 'utf8'));
        cpu = ticks.reduce((a, b) => a + b, 0) / tck;
        cpuSelf = (ticks[0] + ticks[1]) / tck;
      } catch {
        cpu = undefined;
      }
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const ok = code === 0 && (job.typecheck || total === passed);
      const r = { name: job.name, ok, code: code ?? signal, cpu, cpuSelf, wall, total, passed };
      results.push(r);
      process.stdout.write(`\n━━ ${job.name}\n${out.trimEnd()}\n━━ ${job.name}: ${ok ? 'ok' : `FAILED (exit ${r.code})`}, cpu ${cpu?.toFixed(1) ?? '?'} s (${cpuSelf?.toFixed(1) ?? '?'} in the test process), wall ${wall.toFixed(1)} s, load ${loadavg()[0].toFixed(2)}\n`);
      resolve();
    });
  });
}

const all = noTypecheck ? queue : [{ name: 'typecheck (tsc --noEmit -p .)', typecheck: true, weight: Infinity }, ...queue];
if (listOnly) {
  for (const job of all) console.log(`${String(job.weight).padStart(8)}  ${job.name}`);
  process.exit(0);
}
console.log(`test/run.mjs: ${files.length} test files in ${queue.length} processes${noTypecheck ? '' : ' + the typecheck'}, ${jobs} at a time`);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(jobs, all.length) }, async () => {
    while (next < all.length) {
      const i = next++;
      await runJob(all[i], i);
    }
  }),
);
rmSync(tmp, { recursive: true, force: true });

const failed = results.filter((r) => !r.ok);
const cpuSum = results.reduce((n, r) => n + (r.cpu ?? 0), 0);
console.log('\n  cpu s  (test process)  wall s  tests  job');
for (const r of [...results].sort((a, b) => (b.cpu ?? 0) - (a.cpu ?? 0))) {
  console.log(`${(r.cpu?.toFixed(1) ?? '?').padStart(7)}  ${(r.cpuSelf?.toFixed(1) ?? '?').padStart(13)}  ${r.wall.toFixed(1).padStart(8)} ${String(r.passed).padStart(3)}/${String(r.total).padEnd(3)} ${r.name}${r.ok ? '' : '  FAILED'}`);
}
console.log(`\n${results.length} jobs, ${results.reduce((n, r) => n + r.passed, 0)} tests passed; cpu ${cpuSum.toFixed(1)} s, wall ${((Date.now() - started) / 1000).toFixed(1)} s with ${jobs} at a time, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (failed.length) {
  console.log(`FAILED: ${failed.map((r) => r.name).join(', ')}`);
  process.exitCode = 1;
}
