/**
 * Parse throughput and memory per language, in a piscina pool running stages/parse/task.ts, with 1
 * and 2 workers, over 1 pass and 10 passes. Corpora: JavaScript, the embedded corpus (the CORPUS
 * packages in node_modules); TypeScript, the packages of the language tests that ship their .ts
 * sources (.ts, .tsx, .d.ts); Python, packages of the machine's python3 standard library.
 * Each configuration runs in a fresh child process so peak RSS is its own. Main and worker
 * threads share one process, so the main thread's RSS covers the workers (WASM memory included).
 *
 *   node --import tsx bench/parse.ts                 # the matrix, with the targets checked
 *   node --import tsx bench/parse.ts --task FILE     # the same for another task implementation
 *   node --import tsx bench/parse.ts --young-mb 0    # workers' young generation not capped
 *   node --import tsx bench/parse.ts --language python   # one language only
 *
 * Targets: 2 workers >= 1.7x the throughput of 1; peak RSS over 10 passes <= 1.2x over 1 pass.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { parseArgs } from 'node:util';
import { CORPUS, corpusRoot, listFiles } from '../test/fixtures/analysis/load.ts';
import { pythonStdlibDir, TS_REPOS } from '../test/helpers/import-scanner.ts';
import { languageFor, MAX_PARSE_BYTES } from '../stages/parse/task.ts';

/** Standard-library packages parsed for Python (more than the tests use, for a few MB). */
const PY_BENCH = ['json', 'email', 'asyncio', 'importlib', 'unittest', 'logging', 'http', 'xml', 'concurrent', 'multiprocessing', 'sqlite3', 'urllib'];
const LANGUAGE_GROUPS: Record<string, string[]> = { javascript: ['javascript'], typescript: ['typescript', 'tsx'], python: ['python'] };

const { values: args } = parseArgs({
  options: {
    task: { type: 'string', default: fileURLToPath(new URL('../stages/parse/task.ts', import.meta.url)) },
    workers: { type: 'string' },
    passes: { type: 'string' },
    // V8 grows a worker's young generation up to 16 MB semi-spaces when allocation is fast (query
    // matches allocate many short-lived nodes): ~40 MB of headroom per isolate that looks like
    // growth but plateaus. Capping it keeps RSS flat at a small cost; 0 leaves V8's default.
    'young-mb': { type: 'string', default: '8' },
    language: { type: 'string' },
  },
});

const youngMb = Number(args['young-mb']);

interface RunResult {
  workers: number;
  passes: number;
  files: number;
  bytes: number;
  seconds: number;
  /** CPU seconds of the whole process (all threads): throughput per core, whatever the load. */
  cpuSeconds: number;
  peakRssMB: number;
  maxRssMB: number;
  /** Process RSS in MB after each pass: flat when nothing leaks. */
  rssAfterPass: number[];
  skipped: string[];
}

/**
 * tsx 4.23 on Node 20 registers its loader on the main thread only, so `--import tsx` in a
 * worker's execArgv does not make .ts importable there; registering tsx's ESM API in the worker
 * does (tested here; the engine's pool needs the same, or compiled JS).
 */
const TSX_IN_WORKERS = `data:text/javascript,${encodeURIComponent(
  `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();`,
)}`;

function corpus(language: string): { files: Array<{ path: string; text: string }>; skipped: string[] } {
  const files: Array<{ path: string; text: string }> = [];
  const skipped: string[] = [];
  const ids = LANGUAGE_GROUPS[language];
  if (!ids) throw new Error(`--language: one of ${Object.keys(LANGUAGE_GROUPS).join(', ')}`);
  const roots =
    language === 'javascript' ? CORPUS.map((n) => [n, corpusRoot(n)]) :
    language === 'typescript' ? TS_REPOS.map((n) => [n, corpusRoot(n)]) :
    PY_BENCH.map((n) => [n, join(pythonStdlibDir(), n)]);
  for (const [name, root] of roots) {
    for (const path of listFiles(root)) {
      const lang = languageFor(path);
      if (!lang || !ids.includes(lang)) continue;
      const text = readFileSync(join(root, path), 'utf8');
      if (Buffer.byteLength(text) > MAX_PARSE_BYTES) skipped.push(`${name}/${path}`);
      else files.push({ path: `${name}/${path}`, text });
    }
  }
  return { files, skipped };
}

/** One configuration, in this process. */
async function run(language: string, workers: number, passes: number): Promise<RunResult> {
  const { files, skipped } = corpus(language);
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const pool = new Piscina({
    filename: args.task,
    minThreads: workers,
    maxThreads: workers,
    execArgv: ['--import', TSX_IN_WORKERS],
    ...(youngMb > 0 && { resourceLimits: { maxYoungGenerationSizeMb: youngMb } }),
  });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const rssAfterPass: number[] = [];
  for (let p = 0; p < passes; p++) {
    await Promise.all(files.map((f) => pool.run(f)));
    rssAfterPass.push(Math.round(process.memoryUsage().rss / 2 ** 20));
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(sampler);
  await pool.destroy();
  return {
    workers,
    passes,
    files: files.length,
    bytes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMB: peak / 2 ** 20,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    rssAfterPass,
    skipped,
  };
}

function child(language: string, workers: number, passes: number): RunResult {
  const out = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...['--task', args.task!, '--workers', String(workers), '--passes', String(passes), '--language', language],
      ...['--young-mb', String(youngMb)],
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as RunResult;
}

if (args.workers && args.passes) {
  console.log(JSON.stringify(await run(args.language ?? 'javascript', Number(args.workers), Number(args.passes))));
} else {
  console.log(`task: ${args.task}; workers' young generation: ${youngMb > 0 ? `<= ${youngMb} MB` : "V8's default"}`);
  const summary: string[] = [];
  for (const language of args.language ? [args.language] : Object.keys(LANGUAGE_GROUPS)) {
    const results: RunResult[] = [];
    console.log(`\n${language}`);
    for (const [workers, passes] of [[1, 1], [1, 10], [2, 1], [2, 10]] as const) {
      const r = child(language, workers, passes);
      results.push(r);
      const mb = (r.bytes * r.passes) / 1e6;
      console.log(
        `  ${workers} worker(s) x ${String(passes).padStart(2)} pass(es): ${r.files} files, ${(r.bytes / 1e6).toFixed(2)} MB/pass, ` +
          `${(mb / r.seconds).toFixed(2)} MB/s, ${((r.files * r.passes) / r.seconds).toFixed(0)} files/s, ` +
          `${r.seconds.toFixed(2)} s, ${(mb / r.cpuSeconds).toFixed(2)} MB per CPU-s, ${(r.cpuSeconds / r.seconds).toFixed(2)} cores busy, peak RSS ${r.peakRssMB.toFixed(0)} MB (maxRSS ${r.maxRssMB.toFixed(0)} MB)`,
      );
      if (passes > 1) console.log(`      RSS after each pass (MB): ${r.rssAfterPass.join(' ')}`);
    }
    const get = (w: number, p: number) => results.find((r) => r.workers === w && r.passes === p)!;
    const rate = (r: RunResult) => (r.bytes * r.passes) / r.seconds;
    const speedup = rate(get(2, 10)) / rate(get(1, 10));
    console.log(`  skipped (> ${MAX_PARSE_BYTES} bytes): ${get(1, 1).skipped.length ? get(1, 1).skipped.join(', ') : 'none'}`);
    console.log(`  speed-up 2 vs 1 worker (10 passes): ${speedup.toFixed(2)}x (target >= 1.7x) ${speedup >= 1.7 ? 'OK' : 'MISSED'}`);
    for (const w of [1, 2]) {
      const growth = get(w, 10).peakRssMB / get(w, 1).peakRssMB;
      console.log(`  peak RSS 10 vs 1 pass, ${w} worker(s): ${growth.toFixed(2)}x (target <= 1.2x) ${growth <= 1.2 ? 'OK' : 'MISSED'}`);
      summary.push(`${language} ${w}w: ${(rate(get(w, 10)) / 1e6).toFixed(2)} MB/s, ${((get(w, 10).files * 10) / get(w, 10).seconds).toFixed(0)} files/s, RSS ${growth.toFixed(2)}x`);
    }
  }
  const load = os.loadavg()[0];
  console.log(`\nsummary (10 passes):\n  ${summary.join('\n  ')}`);
  console.log(`load average ${load.toFixed(2)} on ${os.availableParallelism()} cores: wall-clock speed-up is only meaningful on an idle machine`);
}
