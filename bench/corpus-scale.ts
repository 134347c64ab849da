/**
 * Corpus-scale benchmark (issue 17, acceptance 1): builds >= 200 real npm packages with
 * `retrace build` as a child process and prints, for each format (raw and trajectory):
 * cold / no-op / one-line-edit wall and CPU time, cores used, peak RSS, source MB/s, and the
 * per-stage CPU time of a profiled cold build, with the CPU floor (tree-sitter parse + the BPE
 * tokenizer + zstd) and cold / floor.
 *
 *   node --import tsx bench/corpus-scale.ts [--repo <checkout>] [--packages 200]
 *        [--formats raw,trajectory] [--dir <bench dir>] [--workers N] [--no-profile]
 *        [--keep-profiles <dir>] [--cold-only] [--json]
 *
 * Packages: a pinned list of popular packages is installed (`npm install --ignore-scripts`) into
 * <dir>/npm (default <tmpdir>/retrace-corpus-bench, reused when present); package folders are
 * found under its node_modules (nested ones too), then under <repo>/node_modules (then other
 * versions of packages already taken: up to ~460 folders), until there
 * are --packages of them. They are copied to <dir>/corpus-N (without nested node_modules), so
 * the edit never touches an installed package; the config has one `{ dir }` source per package.
 *
 * Measuring: each build is `node bin/retrace.js build --json` with a fresh cache for cold, then
 * the same cache for the no-op, then after appending one comment line to one .js file for the
 * edit (restored afterwards); then the same edit made, undone and made again under `build --watch`
 * (one process, workers kept: each timed from the write to its summary line, and its version checked
 * against the one-shot builds'). CPU time is the children's user+system time from /proc/self/stat
 * (every thread of the child and anything it spawns, e.g. esbuild), cross-checked with a preloaded
 * hook (`--import`) that writes process.resourceUsage() at exit; peak RSS is the hook's maxRSS
 * (the process: main and worker threads). Its split is polled from /proc/<pid>/status (RssAnon:
 * what the build holds; RssFile: mapped code and LMDB pages the kernel may drop), with the main
 * thread's heapUsed/external/arrayBuffers peaks from the hook. `--cold-only` runs the cold build
 * alone (no no-op, edit or profile): the memory figures at several sizes in few runs.
 * The per-stage table comes from a second cold build with `--cpu-prof` (main and worker threads
 * each write a profile): self time of each sample, attributed by script path. The machine this
 * runs on may be shared: wall time is printed with the load average, CPU time is the steadier one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Popular packages (and, through their dependencies, ~400 package folders), pinned. */
export const PACKAGES = [
  'express@4.21.2', 'eslint@8.57.1', 'webpack@5.97.1', '@babel/core@7.26.0', 'mocha@10.8.2', 'axios@1.7.9', 'lodash@4.17.21',
  'chalk@4.1.2', 'commander@12.1.0', 'yargs@17.7.2', 'semver@7.6.3', 'debug@4.4.0', 'uuid@11.0.3', 'dotenv@16.4.7', 'ws@8.18.0',
  'glob@10.4.5', 'minimist@1.2.8', 'cheerio@1.0.0', 'react@18.3.1', 'classnames@2.5.1', 'async@3.2.6', 'bluebird@3.7.2',
  'underscore@1.13.7', 'node-fetch@2.7.0', 'fs-extra@11.2.0',
];

const MB = 1024 * 1024;

export interface Pkg {
  name: string;
  dir: string;
}

/**
 * Every package folder under a node_modules directory, scoped and nested ones too: each level in
 * path order, its nested node_modules folders after it.
 */
function walkPackages(nodeModules: string, visit: (p: Pkg) => void): void {
  if (!existsSync(nodeModules)) return;
  const entries = readdirSync(nodeModules, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  const dirs: Array<[string, string]> = [];
  for (const e of entries) {
    if (e.startsWith('@')) {
      for (const s of readdirSync(join(nodeModules, e), { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => x.name).sort()) dirs.push([`${e}/${s}`, join(nodeModules, e, s)]);
    } else dirs.push([e, join(nodeModules, e)]);
  }
  const nested: string[] = [];
  for (const [name, dir] of dirs) {
    if (!existsSync(join(dir, 'package.json'))) continue;
    visit({ name, dir });
    if (existsSync(join(dir, 'node_modules'))) nested.push(join(dir, 'node_modules'));
  }
  for (const n of nested) walkPackages(n, visit);
}

/** Package folders under a node_modules directory (scoped and nested ones too), first by path order; one per name. */
export function findPackages(nodeModules: string, seen = new Set<string>(), out: Pkg[] = []): Pkg[] {
  walkPackages(nodeModules, (p) => {
    if (seen.has(p.name)) return;
    seen.add(p.name);
    out.push(p);
  });
  return out;
}

/** A package folder's `name@version` (from its package.json; `name@?` when unreadable). */
function nameAtVersion(p: Pkg): string {
  try {
    return `${p.name}@${JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')).version ?? '?'}`;
  } catch {
    return `${p.name}@?`;
  }
}

/**
 * Package folders under a node_modules directory (nested ones too) whose name is taken already but
 * whose version is not: other versions of a package (their sources differ), in path order. They
 * come after every distinct name, so the first N folders of a corpus do not change with them.
 */
export function otherVersions(nodeModules: string, taken: Set<string>, out: Pkg[] = []): Pkg[] {
  walkPackages(nodeModules, (p) => {
    const id = nameAtVersion(p);
    if (taken.has(id)) return;
    taken.add(id);
    out.push({ name: id, dir: p.dir });
  });
  return out;
}

function npmInstall(prefix: string): void {
  mkdirSync(prefix, { recursive: true });
  if (!existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), JSON.stringify({ name: 'retrace-corpus-bench', private: true }, null, 2));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...PACKAGES];
  console.error(`installing ${PACKAGES.length} pinned packages (and their dependencies) into ${prefix} ...`);
  const r = spawnSync(npm, args, { cwd: prefix, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error || r.status !== 0) {
    throw new Error(
      `npm install into ${prefix} failed (${r.error ? r.error.message : `exit ${r.status}`}):\n${(r.stderr || '').trim().split('\n').slice(-15).join('\n')}\n` +
        `The benchmark needs the npm registry (or a --dir whose npm/node_modules already holds the packages). Retry, or run by hand: cd ${prefix} && npm ${args.join(' ')}`,
    );
  }
}

/** Bytes and files of a tree. */
function treeSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    bytes += statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).size;
    files++;
  }
  return { bytes, files };
}

/** The first .js file of a package (depth-first, by name), to append one line to. */
function firstJs(dir: string): string | undefined {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) if (e.isFile() && e.name.endsWith('.js') && statSync(join(dir, e.name)).size > 200) return join(dir, e.name);
  for (const e of entries) if (e.isDirectory()) {
    const f = firstJs(join(dir, e.name));
    if (f) return f;
  }
  return undefined;
}

export interface Usage {
  wallS: number;
  /** CPU of the child's main thread and of its other threads (workers, V8 helpers, libuv pool), polled from /proc. */
  mainCpuS?: number;
  otherCpuS?: number;
  cpuS: number;
  hookCpuS: number;
  rssMB: number;
  /**
   * Peak RSS split, polled from /proc/<pid>/status every 100 ms (Linux; 0 elsewhere): anonymous
   * memory (heaps, WASM memories, buffers: what the build holds) and file-backed pages (mapped
   * code and the LMDB map, which the kernel can drop), each its own peak, and the peak of their sum.
   */
  anonMB: number;
  fileMB: number;
  sampledRssMB: number;
  /** The main thread's process.memoryUsage() peaks (sampled by the hook every 100 ms), MB. */
  main?: { heapUsedMB: number; externalMB: number; arrayBuffersMB: number };
  summary: any;
}

const HOOK = `import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
const out = process.env.RETRACE_BENCH_USAGE;
if (isMainThread && out) {
  const peak = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
  };
  setInterval(sample, 100).unref();
  process.on('exit', () => {
    sample();
    const u = process.resourceUsage();
    writeFileSync(out + '.' + process.pid + '.json', JSON.stringify({ pid: process.pid, cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKB: u.maxRSS, peak }));
  });
}
`;

/** RssAnon, RssFile and RssShmem of a process from /proc/<pid>/status, kB (undefined when it is gone). */
function rssSplitKB(pid: number): { anon: number; file: number; shmem: number } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? 0);
    return { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
  } catch {
    return undefined;
  }
}

/** Children's CPU time (utime+stime of waited-for children, with theirs), seconds; Linux only. */
function childrenCpuS(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the name: state is index 0, so cutime (field 16) and cstime (17) are 13 and 14.
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return undefined;
  }
}

/** Find (or install) `want` package folders and copy them to <benchDir>/corpus-<want>: one source folder each. */
export function prepareCorpus(repo: string, benchDir: string, want: number, log: (s: string) => void): { sources: string[]; corpus: string; files: number; sourceMB: number } {
  // Installed ones first, then the measured checkout's own node_modules.
  const npmDir = join(benchDir, 'npm');
  let pkgs = findPackages(join(npmDir, 'node_modules'));
  // Installed once: a corpus larger than what the pinned packages give goes on to other folders.
  const installed = PACKAGES.every((p) => existsSync(join(npmDir, 'node_modules', p.slice(0, p.lastIndexOf('@')), 'package.json')));
  if (pkgs.length < want && !installed) {
    npmInstall(npmDir);
    pkgs = findPackages(join(npmDir, 'node_modules'));
  }
  if (pkgs.length < want) pkgs = findPackages(join(repo, 'node_modules'), new Set(pkgs.map((p) => p.name)), pkgs);
  // Past every distinct name (~416 here): other versions of the same packages (~460 in all).
  if (pkgs.length < want) {
    const taken = new Set(pkgs.map(nameAtVersion));
    otherVersions(join(npmDir, 'node_modules'), taken, pkgs);
    if (pkgs.length < want) otherVersions(join(repo, 'node_modules'), taken, pkgs);
  }
  if (pkgs.length < want) throw new Error(`found only ${pkgs.length} package folders (distinct names, then other versions, under ${npmDir}/node_modules and ${repo}/node_modules), fewer than --packages ${want}`);
  pkgs = pkgs.slice(0, want);
  // A scratch copy: one folder per package, nested node_modules left out (they are packages of their own).
  const corpus = join(benchDir, `corpus-${want}`);
  rmSync(corpus, { recursive: true, force: true });
  mkdirSync(corpus, { recursive: true });
  const sources: string[] = [];
  for (const p of pkgs) {
    const dst = join(corpus, p.name.replace('/', '__').replace(/(?<=.)@(?=[^@]*$)/, '__v'));
    cpSync(p.dir, dst, { recursive: true, filter: (s) => !relative(p.dir, s).split(sep).includes('node_modules') });
    sources.push(dst);
  }
  const size = treeSize(corpus);
  const sourceMB = size.bytes / MB;
  log(`corpus: ${pkgs.length} package folders, ${size.files} files, ${sourceMB.toFixed(1)} MB in ${corpus}`);
  return { sources, corpus, files: size.files, sourceMB };
}

/**
 * `node <repo>/bin/retrace.js ...args` as a child process, with its CPU time and peak RSS. With
 * `prof`, the child writes CPU profiles (main and worker threads) there and runs from the
 * TypeScript sources (RETRACE_NO_BUNDLE), so samples name their file (a bundle puts src/,
 * stages/ and cli/ in one chunk); tsx's share then shows as pkg: tsx / pkg: esbuild.
 * `cpuS` is from /proc/self/stat (the children's times) when one child runs at a time, else the hook's.
 */
export function runner(repo: string, runDir: string): (args: string[], prof?: string) => Promise<Usage> {
  const TICK = 100; // clock ticks per second of /proc's times
  const bin = join(repo, 'bin/retrace.js');
  const hook = join(runDir, 'usage-hook.mjs');
  writeFileSync(hook, HOOK);
  // The CLI bundles itself on first use: do that before anything is timed.
  spawnSync(process.execPath, [bin, '--version'], { cwd: repo, stdio: 'ignore' });
  let seq = 0;
  // Children running now, each with whether another child overlapped it (then /proc cannot split their CPU).
  const active = new Set<{ overlapped: boolean }>();
  return (args, prof) =>
    new Promise((ok, fail) => {
      const n = ++seq;
      const usage = join(runDir, `usage-${n}`);
      const nodeArgs = ['--import', pathToFileURL(hook).href, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), bin];
      const me = { overlapped: active.size > 0 };
      for (const other of active) other.overlapped = true;
      active.add(me);
      const cpu0 = childrenCpuS();
      const t0 = performance.now();
      const env = { ...process.env, RETRACE_BENCH_USAGE: usage, ...(prof ? { RETRACE_NO_BUNDLE: '1' } : {}) };
      const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      // Per-thread CPU, polled (Linux): the last utime+stime seen of every thread of the child.
      const threads = new Map<number, number>();
      const poll = () => {
        try {
          for (const t of readdirSync(`/proc/${child.pid}/task`)) {
            const st = readFileSync(`/proc/${child.pid}/task/${t}/stat`, 'utf8');
            const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
            threads.set(Number(t), (Number(f[11]) + Number(f[12])) / TICK);
          }
        } catch {
          // the thread (or the child) ended between listing and reading
        }
      };
      const timer = setInterval(poll, 200);
      // Peak RSS split (anonymous vs file-backed), polled: the hook's maxRSS is the kernel's exact peak of their sum.
      const split = { anon: 0, file: 0, sum: 0 };
      const pollRss = () => {
        const r = rssSplitKB(child.pid!);
        if (!r) return;
        split.anon = Math.max(split.anon, r.anon);
        split.file = Math.max(split.file, r.file);
        split.sum = Math.max(split.sum, r.anon + r.file + r.shmem);
      };
      const rssTimer = setInterval(pollRss, 100);
      child.on('exit', poll);
      child.on('error', fail);
      child.on('close', (code) => {
        clearInterval(timer);
        clearInterval(rssTimer);
        const wallS = (performance.now() - t0) / 1000;
        const mainCpuS = threads.get(child.pid!);
        const otherCpuS = [...threads].reduce((n, [t, c]) => (t === child.pid ? n : n + c), 0);
        const cpu1 = childrenCpuS();
        active.delete(me);
        const exclusive = !me.overlapped;
        // Exit 3: done, with failed items (a partial version): its figures count, its failures are shown.
        if (code !== 0 && code !== 3) return fail(new Error(`retrace ${args.join(' ')} exited ${code}:\n${stderr.trim().split('\n').slice(-20).join('\n')}`));
        let hookCpuS = 0;
        let rssMB = 0;
        let main: Usage['main'];
        for (const f of readdirSync(runDir).filter((f) => f.startsWith(`usage-${n}.`))) {
          const u = JSON.parse(readFileSync(join(runDir, f), 'utf8'));
          hookCpuS += u.cpuUs / 1e6;
          if (u.maxRssKB / 1024 > rssMB) {
            rssMB = u.maxRssKB / 1024;
            main = { heapUsedMB: u.peak.heapUsed / MB, externalMB: u.peak.external / MB, arrayBuffersMB: u.peak.arrayBuffers / MB };
          }
        }
        let summary: any;
        try {
          summary = JSON.parse(stdout);
        } catch {
          return fail(new Error(`retrace ${args.join(' ')} printed no JSON summary:\n${stdout.slice(0, 500)}`));
        }
        ok({ wallS, mainCpuS, otherCpuS: threads.size > 0 ? otherCpuS : undefined, cpuS: exclusive && cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : hookCpuS, hookCpuS, rssMB, anonMB: split.anon / 1024, fileMB: split.file / 1024, sampledRssMB: split.sum / 1024, main, summary });
      });
    });
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      packages: { type: 'string', default: '200' },
      formats: { type: 'string', default: 'raw,trajectory' },
      dir: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      'cold-only': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      workers: { type: 'string' },
      'keep-profiles': { type: 'string' },
    },
  });
  const repo = resolve(o.repo ?? join(import.meta.dirname, '..'));
  if (!existsSync(join(repo, 'bin/retrace.js'))) throw new Error(`--repo ${repo} has no bin/retrace.js: give the path of a Retrace checkout (with node_modules installed)`);
  const want = Number(o.packages);
  if (!(Number.isInteger(want) && want >= 1)) throw new Error(`--packages must be a whole number >= 1, not ${o.packages}`);
  const formats = o.formats.split(',').map((f) => f.trim());
  for (const f of formats) if (f !== 'raw' && f !== 'trajectory') throw new Error(`--formats: unknown format "${f}" (raw, trajectory)`);
  const benchDir = resolve(o.dir ?? join(tmpdir(), 'retrace-corpus-bench'));
  const log = (s: string) => console.error(s);

  const { sources, corpus, files, sourceMB } = prepareCorpus(repo, benchDir, want, log);
  const size = { files };
  const editPkg = sources[Math.floor(sources.length / 2)]!;
  const editFile = firstJs(editPkg) ?? sources.map(firstJs).find((f) => f);
  if (!editFile) throw new Error(`no .js file to edit in ${corpus}`);

  const run = mkdtempSync(join(benchDir, 'run-'));
  const retrace = runner(repo, run);
  const build = (config: string, cache: string, out: string, prof?: string): Promise<Usage> =>
    retrace(['build', '--json', '--config', config, '--cache-dir', cache, '--out', out, ...(o.workers ? ['--workers', o.workers] : [])], prof);

  const results: any[] = [];
  if (!o.json) console.log(`Retrace ${repo} — ${want} package folders, ${size.files} files, ${sourceMB.toFixed(1)} MB of source; edit: one comment line appended to ${relative(corpus, editFile)}`);
  try {
    for (const format of formats) {
      const config = join(run, `${format}.config.ts`);
      const cfg = {
        name: `corpus-${want}-${format}`,
        format,
        sources: sources.map((dir) => ({ dir })),
        tokenizer: { name: 'llama3', bos: 128000, eos: 128001 },
        output: { layout: 'documents', format: 'parquet', compression: 'zstd' },
      };
      writeFileSync(config, `export default ${JSON.stringify(cfg, null, 2)};\n`);
      const cache = join(run, `${format}-cache`);
      const out = join(run, `${format}-out`);
      const load0 = loadavg()[0]!;
      log(`${format}: cold build of ${want} packages ...`);
      const cold = await build(config, cache, out);
      log(`${format}: cold ${cold.wallS.toFixed(1)} s wall, ${cold.cpuS.toFixed(1)} CPU-s (main thread ${cold.mainCpuS?.toFixed(1)}), peak RSS ${cold.rssMB.toFixed(0)} MB; no-op ...`);
      if (o['cold-only']) {
        const r = { format, packages: want, files: size.files, sourceMB, editFile: relative(corpus, editFile), load: [load0, loadavg()[0]!], cold };
        results.push(r);
        if (!o.json) printResult(r, sourceMB);
        rmSync(cache, { recursive: true, force: true });
        continue;
      }
      const noop = await build(config, cache, out);
      const original = readFileSync(editFile);
      let edit: Usage;
      try {
        writeFileSync(editFile, Buffer.concat([original, EDIT_LINE]));
        log(`${format}: one-line edit of ${relative(corpus, editFile)} ...`);
        edit = await build(config, cache, out);
      } finally {
        writeFileSync(editFile, original);
      }
      log(`${format}: no-op ${noop.wallS.toFixed(1)} s wall, ${noop.cpuS.toFixed(2)} CPU-s; edit ${edit.wallS.toFixed(1)} s wall, ${edit.cpuS.toFixed(2)} CPU-s`);
      log(`${format}: five more one-line edits under \`build --watch\`, then the one-shot edit again ...`);
      const watched = await watchEdits(repo, ['build', '--watch', '--json', '--config', config, '--cache-dir', cache, '--out', out, ...(o.workers ? ['--workers', o.workers] : [])], editFile, original);
      // Its last change is the one-shot edit's bytes again: the same version, or the watch built something else.
      if (watched.check !== edit.summary.version) throw new Error(`--watch built version ${watched.check} of the one-shot edit's bytes, the one-shot build ${edit.summary.version}`);
      const load1 = loadavg()[0]!;
      let profile: (Attribution & { wallS: number; cpuS: number }) | undefined;
      if (!o['no-profile']) {
        const prof = join(run, `${format}-prof`);
        log(`${format}: profiled cold build (--cpu-prof) ...`);
        const p = await build(config, join(run, `${format}-cache-prof`), join(run, `${format}-out-prof`), prof);
        profile = { ...attribute(prof, repo, p.cpuS), wallS: p.wallS, cpuS: p.cpuS };
        if (o['keep-profiles']) cpSync(prof, join(resolve(o['keep-profiles']), format), { recursive: true });
        rmSync(join(run, `${format}-cache-prof`), { recursive: true, force: true });
      }
      const r = { format, packages: want, files: size.files, sourceMB, editFile: relative(corpus, editFile), load: [load0, load1], cold, noop, edit, watched, profile };
      results.push(r);
      if (!o.json) printResult(r, sourceMB);
      rmSync(cache, { recursive: true, force: true });
    }
  } finally {
    rmSync(run, { recursive: true, force: true });
  }

  if (o.json) {
    console.log(JSON.stringify({ repo, corpus: { packages: want, files: size.files, sourceMB }, results: results.map((r) => ({ ...r, cold: strip(r.cold), noop: r.noop && strip(r.noop), edit: r.edit && strip(r.edit) })) }, null, 2));
  }
}

/** The one-line edit of the bench: the same bytes every run (a watch edit must give the one-shot edit's version). */
const EDIT_LINE = Buffer.from('\n// retrace corpus-scale bench: one-line edit\n');

export interface WatchedEdits {
  /** Five one-line edits never built before, each made once the watch is idle. */
  edits: WatchedEdit[];
  /** CPU the watch spent after its first (up-to-date) build until idle: warming its threads. */
  warmS: number;
  /** The version built when the file is then given the one-shot edit's bytes. */
  check: string;
}

export interface WatchedEdit {
  /** From the file's write to the summary line (includes the watch's 200 ms settle). */
  wallS: number;
  /** CPU of the whole process (every thread) over that time, from /proc. */
  cpuS: number;
  version: string;
  ms: number;
}

/**
 * `retrace build --watch` on the same cache (its first build is answered up-to-date, so it starts
 * no worker): five one-line edits whose bytes no build has seen (so they compute, as the one-shot
 * edit did), each timed from the write to the summary line, CPU being the process's utime+stime
 * over that span; then the one-shot edit's bytes, whose version is returned to be checked; then
 * Ctrl-C, which must exit 0.
 */
async function watchEdits(repo: string, args: string[], editFile: string, original: Buffer): Promise<WatchedEdits> {
  const child = spawn(process.execPath, [join(repo, 'bin/retrace.js'), ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const cpu = () => {
    const st = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  let buf = '';
  let stderr = '';
  const waiting: Array<(s: any) => void> = [];
  child.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) waiting.shift()?.(JSON.parse(buf.slice(0, i)));
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const next = () =>
    Promise.race([
      new Promise<any>((ok) => waiting.push(ok)),
      exited.then((code) => {
        throw new Error(`build --watch exited ${code}:\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
      }),
    ]);
  const edits: WatchedEdit[] = [];
  let check = '';
  let warmS = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Until the watch uses no CPU for 300 ms (it warms its threads while idle): at most 15 s. */
  const idle = async () => {
    for (let t = 0; t < 50; t++) {
      const c = cpu();
      await sleep(300);
      if (cpu() - c < 0.02) return;
    }
  };
  try {
    await next(); // the first build: up to date
    const w0 = cpu();
    await idle();
    warmS = cpu() - w0;
    for (const bytes of [1, 2, 3, 4, 5].map((k) => Buffer.concat([original, Buffer.from(`\n// retrace corpus-scale bench: watched edit ${k} ${Date.now()}\n`)])).concat([Buffer.concat([original, EDIT_LINE])])) {
      await sleep(1000);
      await idle();
      const c0 = cpu();
      const t0 = performance.now();
      writeFileSync(editFile, bytes);
      const s = await next();
      if (edits.length < 5) edits.push({ wallS: (performance.now() - t0) / 1000, cpuS: cpu() - c0, version: s.version, ms: s.ms });
      else check = s.version;
    }
  } finally {
    writeFileSync(editFile, original);
    child.kill('SIGINT');
  }
  const code = await exited;
  if (code !== 0) throw new Error(`build --watch did not stop cleanly on Ctrl-C (exit ${code}):\n${stderr.slice(-2000)}`);
  return { edits, check, warmS };
}

/** One format's table, printed as soon as that format is done (a long run that is stopped keeps what it printed). */
function printResult(r: any, sourceMB: number): void {
  console.log(`\n${r.format}  (load average ${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)} on ${availableParallelism()} cores; ${r.cold.summary.documents} documents, ${r.cold.summary.tokens} tokens, ${r.cold.summary.shards} shard(s))`);
  const row = (name: string, u: Usage) => [name, u.wallS.toFixed(2), u.cpuS.toFixed(2), u.mainCpuS === undefined ? '-' : u.mainCpuS.toFixed(2), (u.cpuS / u.wallS).toFixed(2), u.rssMB.toFixed(0), (sourceMB / u.wallS).toFixed(2), `${((u.wallS / r.cold.wallS) * 100).toFixed(1)}%`, `${((u.cpuS / r.cold.cpuS) * 100).toFixed(1)}%`];
  const runs = ([['cold', r.cold], ['no-op', r.noop], ['one-line edit', r.edit]] as Array<[string, Usage | undefined]>).filter((x): x is [string, Usage] => x[1] !== undefined);
  table(['run', 'wall s', 'CPU s', 'main thread CPU s', 'cores', 'peak RSS MB', 'source MB/s', 'wall/cold', 'CPU/cold'], runs.map(([name, u]) => row(name, u)));
  if (r.watched) {
    console.log(`\n  one-line edits under \`build --watch\` (bytes never built before; each made once the watch is idle; wall from the write to the summary, with the watch's 200 ms settle; then the one-shot edit's bytes gave its version). After its first build (up to date) the watch warmed its threads while idle: ${(r.watched as WatchedEdits).warmS.toFixed(2)} CPU-s:`);
    table(
      ['edit', 'wall s', 'CPU s', 'wall/cold', 'CPU/cold', 'version'],
      (r.watched as WatchedEdits).edits.map((w, k) => [k === 0 ? '1st (threads warmed while idle)' : `${k + 1}${['nd', 'rd'][k - 1] ?? 'th'} (threads kept)`, w.wallS.toFixed(2), w.cpuS.toFixed(2), `${((w.wallS / r.cold.wallS) * 100).toFixed(1)}%`, `${((w.cpuS / r.cold.cpuS) * 100).toFixed(1)}%`, w.version]),
      '  ',
    );
  }
  console.log('\n  peak RSS split (anon: heaps, WASM, buffers; file: mapped code + the LMDB map, droppable by the kernel; polled every 100 ms, each its own peak):');
  table(
    ['run', 'peak RSS MB (kernel)', 'anon peak MB', 'file-backed peak MB', 'main heapUsed peak MB', 'main external MB', 'main arrayBuffers MB'],
    runs.map(([name, u]) => [name, u.rssMB.toFixed(0), u.anonMB.toFixed(0), u.fileMB.toFixed(0), u.main?.heapUsedMB.toFixed(0) ?? '-', u.main?.externalMB.toFixed(0) ?? '-', u.main?.arrayBuffersMB.toFixed(0) ?? '-']),
    '  ',
  );
  for (const [name, u] of runs) {
    const failures = (u.summary.failures ?? []) as Array<{ code?: string; item?: string; stage?: string; message?: string }>;
    if (failures.length > 0) console.log(`  ${name}: ${failures.length} item(s) FAILED (exit 3, partial version), e.g. ${failures.slice(0, 3).map((x) => `${x.code ?? ''} ${x.stage ?? ''} ${x.item ?? ''}`.trim()).join('; ')}`);
  }
  if (r.profile) {
    const p = r.profile;
    console.log(`\n  per-stage CPU (profiled cold build: ${p.wallS.toFixed(1)} s wall, ${p.cpuS.toFixed(1)} CPU-s; ${p.threads} thread profiles with ${p.sampledS.toFixed(1)} s of samples, scaled to the CPU time; run from the TypeScript sources, so tsx's share is not in the timed builds):`);
    table(['where', 'CPU s', 'share'], p.rows.map(([k, s]: [string, number]) => [k, s.toFixed(2), `${((s / p.cpuS) * 100).toFixed(1)}%`]), '  ');
    console.log(`\n  CPU floor (tree-sitter ${p.floor.parse.toFixed(2)} s + tokenizer ${p.floor.tokenize.toFixed(2)} s + zstd ${p.floor.zstd.toFixed(2)} s, from the profile) = ${p.floor.total.toFixed(2)} CPU-s; cold CPU / floor = ${(r.cold.cpuS / p.floor.total).toFixed(2)}x, cold wall / floor = ${(r.cold.wallS / p.floor.total).toFixed(2)}x`);
    const before = p.floor.total - p.floor.tokenize + p.floor.bpe;
    console.log(`  (within the profiled build itself, whose CPU the profiler and tsx inflate: ${(p.cpuS / p.floor.total).toFixed(2)}x; the earlier definition, the tokenizer's BPE loop and pre-tokenizer module only, ${p.floor.bpe.toFixed(2)} s: floor ${before.toFixed(2)} CPU-s, cold CPU / floor ${(r.cold.cpuS / before).toFixed(2)}x)`);
  }
}

function strip(u: Usage) {
  const { summary, ...rest } = u;
  return { ...rest, documents: summary.documents, tokens: summary.tokens, shards: summary.shards, version: summary.version, stages: summary.stages };
}

function table(head: string[], rows: string[][], indent = ''): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => indent + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(line(head));
  console.log(indent + w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Where a profiled function's self time goes: a stage, an engine module, a package, node, V8. */
export function category(url: string, fn: string, repo: string): string {
  if (!url) {
    if (fn === '(garbage collector)') return 'V8: garbage collector';
    if (fn === '(program)') return 'V8/native: (program)';
    if (fn === '(idle)') return '(idle)';
    return 'V8/native: builtins';
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node: ${m?.[1] === 'modules' ? 'module loading' : (m?.[1] ?? url)}`;
  }
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/');
    return `pkg: ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith(repo + '/')) path = path.slice(repo.length + 1);
  path = path.replace(/^dist\/[^/]+\//, 'dist/');
  const m = /^(stages)\/([^/]+)\//.exec(path);
  if (m) return `${m[1]}/${m[2]}`;
  if (/^src\/(cache|build|llm)\//.test(path)) return path.split('/').slice(0, 2).join('/');
  if (/^(src|stages|cli|bin)\//.test(path)) return path;
  if (path.startsWith('dist/')) return 'dist (bundled CLI: src, stages, cli)';
  return path;
}

export interface Attribution {
  /** CPU seconds by category, scaled from sampled time to the build's measured CPU (see below). */
  rows: Array<[string, number]>;
  sampledS: number;
  threads: number;
  /** `bpe`: the tokenizer as the floor counted it before (BPE loop and pre-tokenizer module only). */
  floor: { parse: number; tokenize: number; zstd: number; total: number; bpe: number };
}

/**
 * Self time of every sample of every profile in `dir`, by category, and the CPU floor's parts.
 * A WASM frame is attributed to the JS that called it ("wasm via pkg: parquet-wasm"). V8 samples
 * on a wall-clock interval, so on a loaded machine a thread's samples also cover time it waited
 * for a core: the figures are scaled so that they add up to the measured CPU time `cpuS`.
 */
export function attribute(dir: string, repo: string, cpuS: number): Attribution {
  const by = new Map<string, number>();
  const floor = { parse: 0, tokenize: 0, zstd: 0, total: 0, bpe: 0 };
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    const node = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const cat = new Map<number, string>();
    const fl = new Map<number, 'parse' | 'tokenize' | 'zstd' | undefined>();
    const bpe = new Set<number>();
    for (const n of prof.nodes) {
      let { url, functionName } = n.callFrame;
      let c: string;
      if (url.startsWith('wasm://')) {
        let p = parent.get(n.id);
        while (p !== undefined && (node.get(p)!.callFrame.url.startsWith('wasm://') || !node.get(p)!.callFrame.url)) p = parent.get(p);
        url = p !== undefined ? node.get(p)!.callFrame.url : '';
        functionName = p !== undefined ? node.get(p)!.callFrame.functionName : functionName;
        c = `wasm via ${url ? category(url, functionName, repo) : '(unknown caller)'}`;
      } else c = category(url, functionName, repo);
      cat.set(n.id, c);
      fl.set(n.id, floorPart(url, functionName));
      if (/stages\/tokenize\/(bpe|pretokenize)\.[tj]s$/.test(url)) bpe.add(n.id);
    }
    // A sample's time is the delta to the next sample (the last one has none).
    for (let i = 0; i < prof.samples.length; i++) {
      const us = prof.timeDeltas[i + 1] ?? 0;
      const id = prof.samples[i]!;
      if (!node.has(id)) continue;
      const c = cat.get(id)!;
      if (c === '(idle)') continue;
      by.set(c, (by.get(c) ?? 0) + us / 1e6);
      const part = fl.get(id);
      if (part) floor[part] += us / 1e6;
      if (bpe.has(id)) floor.bpe += us / 1e6;
    }
  }
  const sampledS = [...by.values()].reduce((n, s) => n + s, 0);
  const k = sampledS > 0 ? cpuS / sampledS : 1;
  floor.parse *= k;
  floor.tokenize *= k;
  floor.zstd *= k;
  floor.bpe *= k;
  floor.total = floor.parse + floor.tokenize + floor.zstd;
  const rows = [...by].map(([c, s]) => [c, s * k] as [string, number]).sort((a, b) => b[1] - a[1]);
  const top = rows.slice(0, 28);
  const rest = rows.slice(28).reduce((n, [, s]) => n + s, 0);
  if (rest > 0) top.push([`(${rows.length - 28} more)`, rest]);
  return { rows: top, sampledS, threads: files.length, floor };
}

/** The Llama-3 split pattern's native frame is named after its source (pretokenize.ts). */
const SPLIT_FRAME = "RegExp: '(?:[sS]|[tT]|";

/**
 * The CPU floor's parts: tree-sitter (its WASM and JS binding), the tokenizer (the encoding
 * itself: the split pattern's matching, the piece cache, the BPE merge loop; not the loading of
 * the vocabulary, the loss mask or the task's plumbing), and the Parquet writer's zstd.
 * Until 2026-12-02 (evening) only the BPE loop and the pre-tokenizer's module counted as the
 * tokenizer, which left out the split pattern's native matching and the piece cache: a faster
 * merge loop then made cold / floor look worse. That part is still counted (`bpe`) and printed.
 */
function floorPart(url: string, fn: string): 'parse' | 'tokenize' | 'zstd' | undefined {
  if (/tree-sitter/.test(url)) return 'parse';
  if (/stages\/tokenize\/(bpe|pretokenize|llama3)\.[tj]s$/.test(url) || fn.startsWith(SPLIT_FRAME)) return 'tokenize';
  if (/zstd|parquet-wasm/i.test(url) || /zstd/i.test(fn)) return 'zstd';
  return undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((e) => {
    console.error(`corpus-scale: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
