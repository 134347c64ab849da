/**
 * What a one-line edit costs against a cold build and a no-op (issue 17), on real packages of
 * this project's node_modules (nested node_modules included, each package one `{ dir }` source).
 * The packages are copied to a temp folder (node_modules is never edited); the edit appends a
 * comment line to one .js file of one package. Every run is the real `retrace build --json`
 * binary; CPU is the child's user+sys time (worker threads included), read from /proc/self/stat
 * (cutime/cstime) around each run. With --strace, fdatasync/fsync calls are counted too.
 *
 *   node --import tsx bench/edit-cost.ts [--format raw|trajectory] [--max-kb 3000] [--limit 200]
 *                                        [--strace] [--keep DIR] [--cpu-prof DIR]
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { open } from 'lmdb';

const root = resolve(import.meta.dirname, '..');
const arg = (name: string, dflt?: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const format = arg('format', 'raw') as 'raw' | 'trajectory';
const maxKb = Number(arg('max-kb', '3000'));
const limit = Number(arg('limit', '200'));
const useStrace = process.argv.includes('--strace');
const profDir = arg('cpu-prof');

/** Package folders under node_modules, nested node_modules included, in a stable order. */
function packages(): string[] {
  const out: string[] = [];
  const add = (p: string): void => {
    if (!existsSync(join(p, 'package.json'))) return;
    out.push(p);
    walk(join(p, 'node_modules'));
  };
  const walk = (nm: string): void => {
    if (!existsSync(nm)) return;
    for (const e of readdirSync(nm).sort()) {
      if (e.startsWith('.')) continue;
      const p = join(nm, e);
      if (e.startsWith('@')) for (const s of readdirSync(p).sort()) add(join(p, s));
      else add(p);
    }
  };
  walk(join(root, 'node_modules'));
  return out;
}

/** Bytes of a package folder, less nested node_modules (each of those is a source of its own). */
function size(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === '.git') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) n += size(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

function childCpuSeconds(): number {
  // /proc/self/stat: fields 16 and 17 (cutime, cstime) in clock ticks of waited-for children.
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

const work = arg('keep') ?? mkdtempSync(join(tmpdir(), 'retrace-edit-cost-'));
mkdirSync(work, { recursive: true });
const srcRoot = join(work, 'src');
const chosen = packages().filter((p) => size(p) <= maxKb * 1024).slice(0, limit);
const dirs: string[] = [];
if (!existsSync(srcRoot)) {
  chosen.forEach((p, i) => {
    const to = join(srcRoot, `${String(i).padStart(3, '0')}-${p.slice(root.length + 1).replace(/[/@]/g, '_')}`);
    cpSync(p, to, { recursive: true, dereference: true, filter: (s) => !s.slice(p.length).split('/').includes('node_modules') });
  });
}
for (const d of readdirSync(srcRoot).sort()) dirs.push(join(srcRoot, d));
const config = join(work, `edit-cost.${format}.config.mjs`);
writeFileSync(
  config,
  `export default ${JSON.stringify({ name: `edit-cost-${format}`, format, sources: dirs.map((d) => ({ dir: d })), tokenizer: { name: 'llama3', bos: 128000, eos: 128001 }, output: { layout: 'documents', format: 'parquet', compression: 'zstd' } }, null, 1)};\n`,
);

interface Run {
  label: string;
  wall: number;
  cpu: number;
  syncs?: number;
  commits: number;
  summary: any;
}

/** LMDB's last committed transaction id in the cache (0 before the first build). */
function lastCommit(cacheDir: string): number {
  if (!existsSync(join(cacheDir, 'lmdb', 'data.mdb'))) return 0;
  const env = open({ path: join(cacheDir, 'lmdb'), readOnly: true });
  try {
    return (env.getStats() as { lastTxnId: number }).lastTxnId;
  } finally {
    void env.close();
  }
}

function build(label: string, cacheDir: string, outDir: string): Run {
  const commits0 = lastCommit(cacheDir);
  const cmd = [join(root, 'bin/retrace.js'), 'build', '--json', '--config', config, '--cache-dir', cacheDir, '--out', outDir];
  const nodeArgs = profDir ? [`--cpu-prof`, `--cpu-prof-dir=${join(profDir, `${format}-${label}`)}`] : [];
  const traceFile = join(work, `strace-${format}-${label}.txt`);
  const argv = useStrace ? ['strace', '-f', '--seccomp-bpf', '-c', '-e', 'trace=fdatasync,fsync,msync', '-o', traceFile, process.execPath, ...nodeArgs, ...cmd] : [process.execPath, ...nodeArgs, ...cmd];
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childCpuSeconds() - cpu0;
  // 3: a partial version (some items failed, e.g. the offline LLM provider on an odd file): still a build to time.
  if (r.status !== 0 && r.status !== 3) throw new Error(`${label} build failed (${r.status}): ${r.stderr.slice(-4000)}`);
  let syncs: number | undefined;
  if (useStrace) {
    syncs = 0;
    for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fdatasync|fsync|msync)$/.exec(line);
      if (m) syncs += Number(m[1]);
    }
  }
  return { label, wall, cpu, syncs, commits: lastCommit(cacheDir) - commits0, summary: JSON.parse(r.stdout) };
}

const cache = join(work, `cache-${format}`);
const out = join(work, `out-${format}`);
rmSync(cache, { recursive: true, force: true });
rmSync(out, { recursive: true, force: true });
const runs: Run[] = [];
const load0 = loadavg();
runs.push(build('cold', cache, out));
runs.push(build('noop', cache, out));
// The edit: one comment line appended to the first .js file of the middle package.
const target = dirs[Math.floor(dirs.length / 2)]!;
const js = (function find(d: string): string | undefined {
  for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(d, e.name);
    if (e.isFile() && e.name.endsWith('.js')) return p;
  }
  for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory()) {
      const f = find(join(d, e.name));
      if (f) return f;
    }
  }
  return undefined;
})(target);
if (!js) throw new Error(`no .js file in ${target}`);
appendFileSync(js, `\n// edit-cost ${Date.now()}\n`);
runs.push(build('edit', cache, out));
const load1 = loadavg();

const cold = runs[0]!;
const mb = Object.values((cold.summary.stages ?? {}) as Record<string, unknown>).length;
console.log(`edit-cost: ${format}, ${dirs.length} packages (<= ${maxKb} KB each), ${cold.summary.documents} documents, ${cold.summary.tokens} tokens; edited ${js.slice(srcRoot.length + 1)}`);
for (const r of runs) {
  const computed = Object.entries((r.summary.stages ?? {}) as Record<string, { computed: number }>)
    .filter(([, s]) => s.computed > 0)
    .map(([k, s]) => `${k} ${s.computed}`)
    .join(', ');
  console.log(
    `  ${r.label.padEnd(5)} wall ${r.wall.toFixed(2)} s  cpu ${r.cpu.toFixed(2)} s` +
      `  commits ${r.commits}` +
      (r.syncs !== undefined ? `  fsync ${r.syncs}` : '') +
      `  ${r.label === 'cold' ? '' : `(${((r.wall / cold.wall) * 100).toFixed(1)}% wall, ${((r.cpu / cold.cpu) * 100).toFixed(1)}% cpu of cold) `}computed: ${computed || 'nothing'}; version ${r.summary.version}${r.summary.partial ? ' (partial)' : ''}`,
  );
}
console.log(`  load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')} (${mb} stages)`);
if (!arg('keep')) rmSync(work, { recursive: true, force: true });
