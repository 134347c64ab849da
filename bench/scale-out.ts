/**
 * Scale-out figure: wall time of building the default config (the embedded corpus) with 1 vs 2
 * local partition workers (`build --shard I/N`, one thread each) plus `merge`, from a cold
 * shared cache (a `file://` directory; each worker has its own local cache, as machines do).
 *
 *   node --import tsx bench/scale-out.ts [--runs 2]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2;
const bin = join(root, 'bin/retrace.js');

function retrace(args: string[]): Promise<any> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? ok(JSON.parse(out)) : fail(new Error(`retrace ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function scaled(workers: number, dir: string): Promise<{ ms: number; version: string }> {
  const { default: base } = await import(join(root, 'pipeline.config.ts'));
  const config = join(dir, `w${workers}.config.ts`);
  const sources = base.sources.map((s: { dir: string }) => ({ dir: join(root, s.dir) }));
  writeFileSync(config, `export default ${JSON.stringify({ ...base, sources, workers: 1, cache: { remote: { url: `file://${join(dir, `shared-${workers}`)}` } } })};\n`);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, (_, i) => retrace(['build', '--json', '--shard', `${i}/${workers}`, '--config', config, '--cache-dir', join(dir, `m${workers}-${i}`), '--out', join(dir, 'out')])));
  const merged = await retrace(['merge', '--json', '--shards', String(workers), '--config', config, '--cache-dir', join(dir, `merge-${workers}`), '--out', join(dir, 'out')]);
  return { ms: performance.now() - t0, version: merged.version };
}

for (let r = 0; r < runs; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-scale-bench-'));
  try {
    const one = await scaled(1, dir);
    const two = await scaled(2, dir);
    if (one.version !== two.version) throw new Error(`versions differ: ${one.version} vs ${two.version}`);
    console.log(`run ${r + 1}: 1 worker ${(one.ms / 1000).toFixed(2)} s, 2 workers ${(two.ms / 1000).toFixed(2)} s, ratio 2/1 = ${(two.ms / one.ms).toFixed(2)} (speed-up ${(one.ms / two.ms).toFixed(2)}x), same version ${one.version}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
