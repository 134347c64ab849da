/**
 * CLI start (issue 17): wall and CPU time of a no-op `retrace build` of the default config, via
 * `node bin/retrace.js build` and via `npx retrace build`, against node's own start
 * (`node -e 0`) and npx's (`npx -c 'node -e 0'`): medians of N runs. Target: the no-op at most
 * 0.2 s above node's own start, also via npx. CPU time (children's user + system from
 * /proc/self/stat) is printed beside wall time because the machine is shared: wall time is
 * inflated by load, whose average is printed too.
 *
 *   node --import tsx bench/cli-start.ts [--runs 7] [--root /path/to/a/retrace/checkout]
 *
 * --root measures another checkout (e.g. the unchanged main, for a before/after). The first build
 * makes the project up to date (a cold build if its cache is empty).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs')) || 7;
const root = resolve(arg('--root') ?? join(import.meta.dirname, '..'));
const TICK_MS = 1000 / 100; // USER_HZ

/** CPU time of waited-for children so far (ms): fields cutime and cstime of /proc/self/stat. */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

function once(cmd: string, args: string[]): { wallMs: number; cpuMs: number } {
  const c0 = childCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { wallMs, cpuMs: childCpuMs() - c0 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function measure(label: string, cmd: string, args: string[]): { wall: number; cpu: number } {
  const samples = Array.from({ length: runs }, () => once(cmd, args));
  const wall = median(samples.map((s) => s.wallMs));
  const cpu = median(samples.map((s) => s.cpuMs));
  console.log(`${label.padEnd(34)} wall ${wall.toFixed(0).padStart(5)} ms   cpu ${cpu.toFixed(0).padStart(5)} ms`);
  return { wall, cpu };
}

console.log(`root ${root}, ${runs} runs each (medians), load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
// Make it up to date (and warm the bundle and the compiled-config cache).
const first = spawnSync(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
if (first.status !== 0) throw new Error(`the first build failed (${first.status}): ${first.stderr}`);
const check = JSON.parse(spawnSync(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout);
if (!check.upToDate) console.log('note: the second build was not answered by the up-to-date record; figures below are of a cached build');

const node0 = measure('node -e 0', process.execPath, ['-e', '0']);
const noop = measure('node bin/retrace.js build', process.execPath, [join(root, 'bin/retrace.js'), 'build']);
const npx0 = measure("npx -c 'node -e 0'", 'npx', ['-c', 'node -e 0']);
const npxNoop = measure('npx retrace build', 'npx', ['retrace', 'build']);
const d = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }): string => `wall +${(a.wall - b.wall).toFixed(0)} ms, cpu +${(a.cpu - b.cpu).toFixed(0)} ms`;
console.log(`no-op above node's start:            ${d(noop, node0)}   (target: wall <= +200 ms)`);
console.log(`npx no-op above node's start:        ${d(npxNoop, node0)}`);
console.log(`npx no-op above npx's own start:     ${d(npxNoop, npx0)}`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
