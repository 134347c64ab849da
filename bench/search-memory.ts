/**
 * Memory and time of a trajectory build with CoT search (offline generator and scorer) over one
 * large real package, through the real `retrace build --json` of a checkout, on a cold cache:
 * peak RSS (polled from /proc, so a build that dies of heap exhaustion is still measured), wall
 * time, and how the build ended. Run it on this checkout and on an older one to compare.
 *
 *   node --import tsx bench/search-memory.ts [--root <retrace checkout>] [--package date-fns] [--timeout-s 1800]
 *
 * The package is read from this checkout's node_modules (date-fns is a devDependency for this).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const here = resolve(import.meta.dirname, '..');
const arg = (name: string, fallback: string): string => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const root = resolve(arg('--root', here));
const pkg = arg('--package', 'date-fns');
const timeoutS = Number(arg('--timeout-s', '1800'));

const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-mem-'));
const config = join(dir, 'pipeline.config.ts');
writeFileSync(config, `export default ${JSON.stringify({ name: 'bench', format: 'trajectory', sources: [{ dir: join(here, 'node_modules', pkg) }], search: { enabled: true }, workers: 2 })};\n`);

const rssOf = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

const t0 = performance.now();
const child = spawn(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json', '--config', config, '--cache-dir', join(dir, 'cache'), '--out', join(dir, 'out')], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.on('data', (d) => (out += d));
child.stderr.on('data', (d) => (err += d));
let peak = 0;
let timedOut = false;
const poll = setInterval(() => (peak = Math.max(peak, rssOf(child.pid!))), 250);
const timer = setTimeout(() => {
  timedOut = true;
  child.kill('SIGKILL');
}, timeoutS * 1000);
const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c, sig) => r([c, sig])));
clearInterval(poll);
clearTimeout(timer);
const s = (performance.now() - t0) / 1000;
let steps = '?';
try {
  const summary = JSON.parse(out.slice(out.lastIndexOf('\n{') + 1));
  steps = `${summary.stages.search.items} searched steps, ${summary.llm.calls} llm calls, ${summary.documents ?? '?'} documents`;
} catch {
  /* no summary: the build died */
}
const why = (/(FATAL ERROR[^\n]*|error [A-Z_]+[^\n]*)/.exec(err)?.[1] ?? err.slice(-300)).trim();
const ended = code === 0 ? 'ok' : timedOut ? `killed at the timeout (${timeoutS} s)` : code === null ? `died of ${signal}: ${why}` : `exit ${code}: ${why}`;
console.log(`${pkg} search build with ${root}: ${s.toFixed(1)} s, peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB, ${ended}; ${steps}`);
rmSync(dir, { recursive: true, force: true });
