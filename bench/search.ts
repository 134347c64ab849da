/**
 * Cost of the search stage per searched step with the offline generator and the offline
 * cache-LM scorer, on the embedded corpus (yargs, uvu), through the real `retrace build --json`.
 * Each run builds once without search (cold cache), then with search on the same cache (its
 * new work is the search, plus re-rendering and re-tokenizing the documents whose thoughts
 * changed), then raises the iterations from 3 to 4. Stage times are busy wall time.
 *
 *   node --import tsx bench/search.ts [--runs 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2;
const sources = ['yargs', 'uvu'].map((n) => ({ dir: join(root, 'node_modules', n) }));

function build(dir: string, search: Record<string, unknown>): { ms: number; summary: any } {
  const config = join(dir, 'pipeline.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({ name: 'bench', format: 'trajectory', sources, search })};\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json', '--config', config, '--cache-dir', join(dir, 'cache'), '--out', join(dir, 'out')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`build failed (${r.status}): ${r.stderr}`);
  return { ms, summary: JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{') + 1)) };
}

function perStep(label: string, b: { ms: number; summary: any }, steps: number): string {
  const st = b.summary.stages;
  const sc = b.summary.llm.scorer;
  const gen = b.summary.llm.search;
  // Plan and file calls are cached in these builds: the llm stage's busy time is the generations'.
  const ms = st.score.ms + st.llm.ms + st['search-corpus'].ms + st.search.ms;
  return (
    `  ${label}: build ${(b.ms / 1000).toFixed(2)} s; per step: ${(gen.computed / steps).toFixed(1)} generations + ` +
    `${(sc.computed / steps).toFixed(1)} scores computed (${(sc.cached / steps).toFixed(1)} from the cache), ` +
    `${b.summary.llm.requests} network requests, ${Math.round(sc.scoredTokens / steps)} tokens scored, ` +
    `${(ms / steps).toFixed(1)} ms of search stages (score ${(st.score.ms / steps).toFixed(1)} ms)`
  );
}

for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-search-'));
  try {
    const plain = build(dir, { enabled: false });
    const searched = build(dir, { enabled: true });
    const steps = searched.summary.stages.search.items;
    const four = build(dir, { enabled: true, iterations: 4 });
    console.log(`run ${i + 1}: ${steps} steps (K 2); build without search ${(plain.ms / 1000).toFixed(2)} s`);
    console.log(perStep('3 iterations', searched, steps));
    console.log(perStep('3 -> 4 iterations', four, steps));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
