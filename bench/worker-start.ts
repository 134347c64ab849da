/**
 * Worker start (issue 17): what a fresh tokenizer worker costs before its first result.
 *   1. Vocabulary load in a fresh process (loadLlama3Tokenizer): wall and CPU ms.
 *   2. A fresh piscina worker running one small tokenize task, end to end (thread start, module
 *      loading, vocabulary, encoding): with the task module loaded through tsx (TypeScript, as
 *      every worker did before) and, when this checkout has a bundle, as pre-built JavaScript.
 * Each figure is the median of N fresh processes; CPU is the whole process (all threads).
 *
 *   node --import tsx bench/worker-start.ts [--runs 5] [--root /path/to/a/retrace/checkout]
 *
 * --root measures another checkout (e.g. the unchanged main) for a before/after.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs')) || 5;
const root = resolve(arg('--root') ?? join(import.meta.dirname, '..'));

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Run `code` (an ES module body that prints one JSON line { ms, cpuMs }) in fresh processes. */
function child(label: string, code: string, tsx: boolean): void {
  const samples: Array<{ ms: number; cpuMs: number }> = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [...(tsx ? ['--import', 'tsx'] : []), '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr}`);
    samples.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
  }
  console.log(`${label.padEnd(52)} wall ${median(samples.map((s) => s.ms)).toFixed(0).padStart(5)} ms   cpu ${median(samples.map((s) => s.cpuMs)).toFixed(0).padStart(5)} ms`);
}

const timed = (body: string, setup = ''): string => `${setup}
const c0 = process.cpuUsage(); const t0 = performance.now();
${body}
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }));`;

console.log(`root ${root}, ${runs} fresh processes each (medians), load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const llama3 = pathToFileURL(join(root, 'stages/tokenize/llama3.ts')).href;
// Warm the binary vocabulary (built at first use) so the figure is a worker's usual start.
const importLlama3 = `const { loadLlama3Tokenizer } = await import(${JSON.stringify(llama3)});`;
child('vocabulary load (first use, builds caches)', timed('await loadLlama3Tokenizer();', importLlama3), true);
child('vocabulary load (loadLlama3Tokenizer)', timed('await loadLlama3Tokenizer();', importLlama3), true);

const worker = join(root, 'src/worker.mjs');
const task = (url: string): string =>
  timed(`const { Piscina } = await import('piscina');
const pool = new Piscina({ filename: ${JSON.stringify(worker)}, minThreads: 0, maxThreads: 1, atomics: 'disabled' });
const r = await pool.run({ moduleUrl: ${JSON.stringify(url)}, payload: { text: new TextEncoder().encode('const x = 1;\\n'), masked: [], bos: 128000, eos: 128001 } });
if (!(r.ids.length > 2)) throw new Error('no ids');
await pool.destroy();`);

child('fresh worker, first tokenize task: TypeScript via tsx', task(pathToFileURL(join(root, 'stages/tokenize/task.ts')).href), false);

// The newest bundle of this checkout (bin/retrace.js builds it on the first CLI run).
const dist = join(root, 'dist');
const bundles = existsSync(dist)
  ? readdirSync(dist)
      .filter((d) => /^[0-9a-f]{16}$/.test(d) && existsSync(join(dist, d, 'stages/tokenize/task.js')))
      .sort((a, b) => statSync(join(dist, b)).mtimeMs - statSync(join(dist, a)).mtimeMs)
  : [];
if (bundles.length) child('fresh worker, first tokenize task: pre-built JS', task(pathToFileURL(join(dist, bundles[0], 'stages/tokenize/task.js')).href), false);
else console.log('fresh worker, first tokenize task: pre-built JS          (no pre-built task modules in this checkout)');
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
