/**
 * Acceptance figures of the shared-cache issues (19, 17), with full `retrace build` runs (process
 * start included) against a shared directory (`file://`) and a real nginx WebDAV server on
 * loopback (scripts/nginx-webdav.sh):
 *   1. warm from the remote / cold: a cold build (remote off) is pushed (`cache push`), then a
 *      build on a fresh local cache answers everything from the remote (target <= 10%). Wall and
 *      CPU time (the child's user + system), the remote's counters (results, blobs, bytes,
 *      requests), and the load average, since wall figures on a loaded machine are inflated;
 *      then `cache pull` of that version, a local no-op (up-to-date shortcut) and a local
 *      `--recheck` build (the pipeline walked with every result in the local cache: the floor
 *      of any warm build that walks it, which a build with a remote does);
 *   2. push and pull throughput with many small blobs (synthetic version, in process, through
 *      the same pushVersion/pullVersion code), in MB/s and blobs/s, over HTTP and a directory.
 *
 *   node --import tsx bench/remote-cache.ts [--runs 2] [--blobs 20000] [--remotes file,http]
 *     [--corpus embedded|packages] [--packages 200] [--packages-dir DIR] [--format raw|trajectory]
 *     [--root CHECKOUT]
 *
 * --corpus embedded: the default config (pipeline.config.ts). --corpus packages: the first
 * --packages package folders under --packages-dir's node_modules (nested ones included), raw
 * format unless --format says otherwise. --root runs another checkout's `bin/retrace.js` (e.g.
 * /work/main for the figures before a change); the configs and this script stay the same.
 * --blobs 0 skips part 2.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initHash, type ActionKey } from '../src/hash.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { recordRoot } from '../src/cache/closure.ts';
import { RemoteCache } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { HttpStore } from '../src/cache/remote-http.ts';
import { pullVersion, pushVersion, type TransferReport } from '../src/cache/transfer.ts';
import { startWebdav, type Webdav } from '../test/helpers/webdav.ts';
import defaults from '../pipeline.config.ts';
import { stages } from '../stages/pipeline.ts';

const MEMOS = new Set<string>(stages.filter((s) => s.memo).map((s) => s.name));

const here = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const num = (name: string, d: number): number => (opt(name) === undefined ? d : Number(opt(name)));
const runs = num('--runs', 2);
const smallBlobs = num('--blobs', 20000);
const remotes = (opt('--remotes') ?? 'file,http').split(',') as Array<'file' | 'http'>;
const corpus = opt('--corpus') ?? 'embedded';
const packages = num('--packages', 200);
const packagesDir = resolve(opt('--packages-dir') ?? here);
const checkout = resolve(opt('--root') ?? here);
await initHash();

/** Clock ticks of CPU used by this process's waited-for children (utime + stime), /proc/self/stat. */
function childTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime), counted from 1 with pid and comm first.
  return Number(f[13]) + Number(f[14]);
}
const TICK_MS = 10;

interface Run {
  ms: number;
  cpuMs: number;
  json: any;
}

function cli(args: string[], cwd: string): Run {
  const t0 = performance.now();
  const c0 = childTicks();
  const r = spawnSync(process.execPath, [join(checkout, 'bin/retrace.js'), ...args, '--json'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  const cpuMs = (childTicks() - c0) * TICK_MS;
  if (r.status !== 0) throw new Error(`retrace ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, cpuMs, json: JSON.parse(r.stdout) };
}

const rate = (r: TransferReport): string => {
  const s = r.ms / 1000;
  return `${r.blobsMoved} blobs, ${(r.bytesMoved / 1e6).toFixed(1)} MB in ${s.toFixed(2)} s = ${(r.bytesMoved / 1e6 / s).toFixed(1)} MB/s, ${Math.round(r.blobsMoved / s)} blobs/s`;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Package folders under `dir`/node_modules (scoped and nested ones too), in a stable order. */
function packageFolders(dir: string, limit: number): string[] {
  const out: string[] = [];
  const walk = (nm: string): void => {
    if (!existsSync(nm)) return;
    for (const name of readdirSync(nm).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(nm, name);
      if (name.startsWith('@')) {
        walk(p);
        continue;
      }
      if (!statSync(p).isDirectory() || !existsSync(join(p, 'package.json'))) continue;
      out.push(p);
      walk(join(p, 'node_modules'));
    }
  };
  walk(join(dir, 'node_modules'));
  return out.slice(0, limit);
}

function baseConfig(): Record<string, unknown> {
  if (corpus === 'packages') {
    const dirs = packageFolders(packagesDir, packages);
    return { name: 'bench-packages', format: opt('--format') ?? 'raw', sources: dirs.map((dir) => ({ dir })), tokenizer: defaults.tokenizer, output: defaults.output };
  }
  const sources = defaults.sources.map((s) => ('dir' in s && !isAbsolute(s.dir) ? { dir: join(here, s.dir) } : s));
  return { ...defaults, ...(opt('--format') ? { format: opt('--format') } : {}), sources };
}

function writeConfig(dir: string, name: string, base: Record<string, unknown>, url: string, mode: string): string {
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(file, `export default ${JSON.stringify({ ...base, cache: { remote: { url, mode } } }, null, 2)};\n`);
  return file;
}

async function corpusRun(i: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-remote-'));
  let dav: Webdav | undefined;
  try {
    const base = baseConfig();
    const urls: Record<string, string> = {};
    for (const r of remotes) urls[r] = r === 'http' ? (dav = await startWebdav()).url : pathToFileURL(join(dir, 'shared')).href;
    const off = (r: string) => writeConfig(dir, `off-${r}`, base, urls[r], 'off');
    const loadBefore = load();
    const cold = cli(['build', '--config', off(remotes[0]), '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    // Pushed before the walk below: `cache push` sends the latest version, and the cold build's
    // closure is what a fresh machine should find (the --recheck walk's uses no memo).
    const pushes = new Map(remotes.map((r) => [r, cli(['cache', 'push', '--config', off(r), '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir)]));
    const noop = cli(['build', '--config', off(remotes[0]), '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    // The floor of a warm build that walks the pipeline: every result found in the local cache
    // (--recheck skips the up-to-date shortcut, which builds with a remote never take).
    const walk = cli(['build', '--recheck', '--config', off(remotes[0]), '--cache-dir', join(dir, 'a'), '--out', join(dir, 'outA')], dir);
    console.log(
      `corpus run ${i} (${corpus}, ${(base.sources as unknown[]).length} sources, ${base.format}; ${checkout}): cold ${sec(cold.ms)} wall, ${sec(cold.cpuMs)} CPU ` +
        `(${cold.json.documents} docs, ${cold.json.tokens} tokens); local no-op ${sec(noop.ms)} = ${pct(noop.ms, cold.ms)}; ` +
        `local walk (--recheck, all hits local) ${sec(walk.ms)} wall = ${pct(walk.ms, cold.ms)}, ${sec(walk.cpuMs)} CPU = ${pct(walk.cpuMs, cold.cpuMs)}; load average before ${loadBefore}`,
    );
    for (const r of remotes) {
      const push = pushes.get(r)!;
      const ro = writeConfig(dir, `ro-${r}`, base, urls[r], 'read-only');
      const la = load();
      const warm = cli(['build', '--config', ro, '--cache-dir', join(dir, `b-${r}`), '--out', join(dir, `outB-${r}`)], dir);
      // Memo stages (keyed by machine-local stat stamps, or re-derived from cached items) may be
      // made again; no other stage may compute anything.
      const computed = Object.entries(warm.json.stages as Record<string, { computed: number }>).reduce((n, [name, s]) => n + (MEMOS.has(name) ? 0 : s.computed), 0);
      if (warm.json.version !== cold.json.version || computed !== 0) throw new Error(`warm build differs: version ${warm.json.version}, computed ${computed}`);
      const rm = warm.json.remote;
      const requests = rm.requests === undefined ? '' : `, ${rm.requests} requests`;
      console.log(
        `  ${r.padEnd(4)} warm from remote on a fresh cache ${sec(warm.ms)} wall = ${pct(warm.ms, cold.ms)} of cold, ${sec(warm.cpuMs)} CPU = ${pct(warm.cpuMs, cold.cpuMs)}; ` +
          `inside the build ${sec(warm.json.ms)} / ${sec(cold.json.ms)} = ${pct(warm.json.ms, cold.json.ms)}; ` +
          `${rm.actionsFetched} results, ${rm.blobsFetched} blobs, ${(rm.bytesFetched / 1e6).toFixed(1)} MB fetched${requests}; load average ${la}`,
      );
      console.log(`       push ${push.json.actions} results: ${rate(push.json)}`);
      if (i === 1) {
        const pull = cli(['cache', 'pull', '--config', off(r), '--cache-dir', join(dir, `c-${r}`)], dir);
        console.log(`       pull ${pull.json.actions} results: ${rate(pull.json)}`);
      }
    }
  } finally {
    await dav?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A synthetic version of `count` results, each with one 256 B - 4 KiB output blob. */
async function syntheticVersion(local: LmdbCache, count: number): Promise<void> {
  const keys: ActionKey[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const output = await local.putBlob(randomBytes(256 + Math.floor(Math.random() * 3840)));
      const key = randomBytes(16).toString('hex') as ActionKey;
      keys.push(key);
      await local.putAction(key, { format: 1, stage: 'bench', item: `item-${i}`, output, refs: [], parts: { stage: 'bench', version: '1', inputs: {}, settings: {} }, ms: 0, createdAt: Date.now(), usedAt: Date.now() });
    }),
  );
  await recordRoot(local, 'bench', 'v1', keys);
}

async function smallBlobRun(i: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-small-'));
  const dav = await startWebdav();
  try {
    const a = LmdbCache.open(join(dir, 'a'));
    await syntheticVersion(a, smallBlobs);
    for (const [label, store] of [['http', new HttpStore(dav.url, { maxConcurrency: 32 })], ['dir', new DirStore(join(dir, 'shared'))]] as const) {
      const remote = new RemoteCache(store, { requireSignatures: false });
      const push = await pushVersion(a, remote, 'bench', 'v1');
      const b = LmdbCache.open(join(dir, `b-${label}`));
      const pull = await pullVersion(new RemoteCache(store, { requireSignatures: false }), b, 'bench', 'v1');
      await b.close();
      console.log(`small blobs run ${i} (${label}): push ${rate(push)}; pull ${rate(pull)}`);
    }
    await a.close();
  } finally {
    await dav.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let i = 1; i <= runs; i++) await corpusRun(i);
if (smallBlobs > 0) for (let i = 1; i <= runs; i++) await smallBlobRun(i);
