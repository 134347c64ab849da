/**
 * The long sweep of issue 19's acceptance (the fast case is test/cache-concurrency.test.ts):
 * ROUNDS rounds of BUILDS concurrent cold `retrace build`s of one small project on one fresh
 * cache, through the real binary. A round fails if any build exits non-zero, reports failures,
 * gives another version than the reference (a build alone), or runs past the timeout (a hang;
 * it is killed). With --gc, `cache gc` runs in a loop during every round (cycling --max-age 1s,
 * --max-size 1B and both) and `cache verify` must be clean after it.
 *
 *   node --import tsx bench/cache-concurrency.ts [--rounds 50] [--builds 4] [--timeout 120] [--gc]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { BIN, Project } from '../test/helpers/project.ts';

const argv = process.argv;
const arg = (name: string, d: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const rounds = arg('--rounds', 50);
const builds = arg('--builds', 4);
const timeoutS = arg('--timeout', 120);
const withGc = argv.includes('--gc');

const p = new Project('retrace-bench-conc-');
const js = (i: number) => `import { f${(i + 1) % 12} } from './m${(i + 1) % 12}.js';\nexport function f${i}(x) { return x > ${i} ? x : f${(i + 1) % 12}(x + 1); }\n// ${'padding '.repeat(40 * i)}\n`;
for (const r of ['one', 'two', 'three']) p.repo(r, Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`src/m${i}.js`, `// ${r}\n${js(i)}`])));
p.config({ name: 'conc', format: 'raw', sources: [{ dir: 'repos/one' }, { dir: 'repos/two' }, { dir: 'repos/three' }], workers: 1, output: { shardTokens: 2000 } });

interface Run { code: number; hung: boolean; json: any; stderr: string; ms: number }

function cli(args: string[], timeoutMs: number): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: p.dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = JSON.parse(stdout.slice(Math.max(0, stdout.lastIndexOf('\n{') + 1)));
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, hung, json, stderr, ms: performance.now() - t0 });
    });
  });
}

const build = (cache: string, out: string) => cli(['build', '--json', '--config', 'pipeline.config.ts', '--cache-dir', p.path(cache), '--out', p.path(out)], timeoutS * 1000);
const cacheCmd = (cache: string, ...a: string[]) => cli(['cache', ...a, '--json', '--config', 'pipeline.config.ts', '--cache-dir', p.path(cache)], 60_000);

const ref = await build('ref', 'out-ref');
if (ref.code !== 0) throw new Error(`reference build failed: ${ref.stderr}`);
const reference = ref.json.version as string;
let failedRounds = 0;
let hung = 0;
let gcRuns = 0;
const examples: string[] = [];
const roundMs: number[] = [];
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  const cache = `c${r}`;
  let stop = false;
  const modes = [['--max-age', '1s'], ['--max-size', '1B'], ['--max-age', '1s', '--max-size', '1B']];
  const gcLoop = withGc
    ? (async () => {
        let i = 0;
        while (!stop) {
          const g = await cacheCmd(cache, 'gc', ...modes[i++ % modes.length]!);
          gcRuns++;
          if (g.code !== 0) {
            examples.push(`round ${r}: gc exit ${g.code}: ${g.stderr.slice(-300)}`);
            process.stderr.write(`  gc exit ${g.code}: ${g.stderr.slice(-1000)}\n`);
          }
        }
      })()
    : Promise.resolve();
  const tr = performance.now();
  const runs = await Promise.all(Array.from({ length: builds }, (_, i) => build(cache, `out${r}-${i}`)));
  roundMs.push(performance.now() - tr);
  stop = true;
  await gcLoop;
  let bad = false;
  for (const [i, x] of runs.entries()) {
    if (x.hung) hung++;
    const ok = !x.hung && x.code === 0 && x.json?.failures?.length === 0 && x.json?.version === reference;
    if (!ok) {
      bad = true;
      examples.push(`round ${r} build ${i}: ${x.hung ? 'HUNG' : `exit ${x.code}, version ${x.json?.version}`}: ${x.stderr.split('\n').filter((l) => /error|MDB_/.test(l)).slice(0, 3).join(' | ')}`);
    }
  }
  if (withGc) {
    const v = await cacheCmd(cache, 'verify');
    if (!v.json?.ok) {
      bad = true;
      examples.push(`round ${r}: verify not clean: ${JSON.stringify(v.json)?.slice(0, 300)}`);
    }
  }
  if (bad) failedRounds++;
  rmSync(p.path(cache), { recursive: true, force: true });
  for (let i = 0; i < builds; i++) rmSync(p.path(`out${r}-${i}`), { recursive: true, force: true });
  process.stderr.write(`round ${r + 1}/${rounds}: ${bad ? 'FAILED' : 'ok'} (${(roundMs.at(-1)! / 1000).toFixed(1)} s)\n`);
  if (bad) for (const x of runs) if (x.code !== 0 || x.hung) process.stderr.write(`  ${x.hung ? 'HUNG' : `exit ${x.code}`}\n${x.stderr.slice(-3000)}\n`);
}
roundMs.sort((a, b) => a - b);
console.log(
  `${rounds} rounds x ${builds} concurrent cold builds on one cache${withGc ? `, gc looping (${gcRuns} gc runs)` : ''}: ` +
    `${failedRounds} round(s) failed, ${hung} build(s) hung; round wall time median ${(roundMs[roundMs.length >> 1]! / 1000).toFixed(1)} s, ` +
    `max ${(roundMs.at(-1)! / 1000).toFixed(1)} s; total ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
for (const e of examples.slice(0, 10)) console.log(`  ${e}`);
p.cleanup();
