/**
 * Acceptance figure of the engine issue: wall time of a no-op rebuild against a cold build of the
 * default config (the embedded corpus), same machine, same run. Both are full runs of the real
 * `retrace build --json` binary, process start included. Target: ratio <= 10%.
 *
 *   node --import tsx bench/noop-rebuild.ts [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;

function build(cacheDir: string, outDir: string, extra: string[] = []): { ms: number; summary: any } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json', '--cache-dir', cacheDir, '--out', outDir, ...extra], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`build failed (${r.status}): ${r.stderr}`);
  return { ms, summary: JSON.parse(r.stdout) };
}

const rows: string[] = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-'));
  try {
    const cold = build(join(dir, 'cache'), join(dir, 'out'));
    // --recheck: the full content-addressed check (every file re-read and re-hashed, every key
    // looked up); then the default, which answers from the stat stamps when nothing changed.
    const recheck = build(join(dir, 'cache'), join(dir, 'out'), ['--recheck']);
    const warm = build(join(dir, 'cache'), join(dir, 'out'));
    const computedWarm = Object.values(warm.summary.stages as Record<string, { computed: number }>).reduce((n, s) => n + s.computed, 0);
    if (warm.summary.version !== cold.summary.version || recheck.summary.version !== cold.summary.version) throw new Error('version changed on a no-op rebuild');
    rows.push(
      `run ${i + 1}: cold ${(cold.ms / 1000).toFixed(2)} s (${cold.summary.documents} docs, ${cold.summary.tokens} tokens), ` +
        `no-op ${(warm.ms / 1000).toFixed(2)} s (computed ${computedWarm}), ratio ${((warm.ms / cold.ms) * 100).toFixed(1)}%; ` +
        `no-op with --recheck ${(recheck.ms / 1000).toFixed(2)} s, ratio ${((recheck.ms / cold.ms) * 100).toFixed(1)}%`,
    );
    console.log(rows[rows.length - 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
