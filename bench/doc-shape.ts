/**
 * Document shape of the trajectory format on the embedded corpus (pipeline.config.ts's sources),
 * through the real `retrace build --json` with the offline provider: the corpus is built once as
 * 'raw' and once as 'trajectory' in one cache, and the manifests give, per repository, the raw
 * tokens, the trajectory tokens (all its documents), the ratio, the loss-masked share and the
 * longest document; then tokens per document (median, p90, max) over the version.
 *
 *   node --import tsx bench/doc-shape.ts [--keep DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const keep = process.argv.includes('--keep') ? process.argv[process.argv.indexOf('--keep') + 1] : undefined;
const names = ['yargs', 'yargs-parser', 'parquetjs-lite', 'piscina', 'uvu', 'msgpackr', 'lmdb', 'diff'];
const sources = names.map((n) => ({ dir: join(root, 'node_modules', n) }));

interface Doc { id: string; repo: string; tokens: number; trained: number }

function build(dir: string, format: string): { ms: number; docs: Doc[]; manifest: any } {
  const config = join(dir, `${format}.config.ts`);
  writeFileSync(config, `export default ${JSON.stringify({ name: format, format, sources, workers: 2 })};\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/retrace.js'), 'build', '--json', '--config', config, '--cache-dir', join(dir, 'cache'), '--out', join(dir, 'out')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${format} build failed (${r.status}): ${r.stderr.slice(-3000)}`);
  const summary = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n{') + 1));
  const manifest = JSON.parse(readFileSync(join(summary.path, 'manifest.json'), 'utf8'));
  return { ms, docs: manifest.documents as Doc[], manifest };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : 0;
};

if (keep) mkdirSync(keep, { recursive: true });
const dir = keep ?? mkdtempSync(join(tmpdir(), 'retrace-bench-shape-'));
try {
  const raw = build(dir, 'raw');
  const traj = build(dir, 'trajectory');
  console.log(`raw build ${(raw.ms / 1000).toFixed(1)} s, trajectory build ${(traj.ms / 1000).toFixed(1)} s (offline provider, ${names.length} packages)`);
  const rawBy = new Map<string, number>();
  for (const d of raw.docs) rawBy.set(d.repo, (rawBy.get(d.repo) ?? 0) + d.tokens);
  const rows: string[] = [];
  let tRaw = 0, tTraj = 0, tMasked = 0;
  for (const repo of [...rawBy.keys()]) {
    const docs = traj.docs.filter((d) => d.repo === repo);
    const tokens = docs.reduce((n, d) => n + d.tokens, 0);
    const masked = docs.reduce((n, d) => n + d.tokens - d.trained, 0);
    const r = rawBy.get(repo)!;
    tRaw += r; tTraj += tokens; tMasked += masked;
    rows.push(`  ${repo.padEnd(16)} raw ${String(r).padStart(9)}  trajectory ${String(tokens).padStart(9)}  ${(tokens / r).toFixed(2)}x  masked ${((100 * masked) / tokens).toFixed(1)}%  documents ${docs.length}  longest ${Math.max(...docs.map((d) => d.tokens))}`);
  }
  console.log(rows.join('\n'));
  const per = traj.docs.map((d) => d.tokens);
  console.log(`  total            raw ${tRaw}  trajectory ${tTraj}  ${(tTraj / tRaw).toFixed(2)}x  masked ${((100 * tMasked) / tTraj).toFixed(1)}%`);
  console.log(`  tokens per document: ${per.length} documents, median ${pct(per, 0.5)}, p90 ${pct(per, 0.9)}, max ${Math.max(...per)}`);
  if (traj.manifest.shape) console.log(`  manifest shape: ${JSON.stringify(traj.manifest.shape)}`);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
