/**
 * Issue 18's acceptance sweep: for each kind of damage to the local cache (test/helpers/damage.ts),
 * N random trials (default 20) on a copy of a reference cache, then two builds (each under a
 * timeout; a fresh --out each, so the up-to-date shortcut never answers). For kinds LMDB cannot
 * open (meta pages, truncation) the documented `retrace cache verify --repair` runs first.
 * A trial holds when the second build exits 0 with the reference version, computes nothing,
 * and `retrace cache verify` is clean afterwards.
 *
 *   node --import tsx bench/cache-damage.ts [--trials 20] [--kinds bytes8,meta] [--seed 1]
 *
 * Prints one line per trial and the table the issue asks for (damage kind, trials, result).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/project.ts';
import { copyCache, damage, DAMAGE_KINDS, NEEDS_REPAIR, retrace, seeded, type DamageKind } from '../test/helpers/damage.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const trials = Number(arg('trials') ?? 20);
const kinds = (arg('kinds')?.split(',') ?? [...DAMAGE_KINDS]) as DamageKind[];
const seed0 = Number(arg('seed') ?? 1);
const BUILD_TIMEOUT = 120_000;

/** A small project: three packages from node_modules as directory sources, raw documents. */
function makeProject(dir: string): void {
  for (const pkg of ['uvu', 'kleur', 'diff']) cpSync(join(ROOT, 'node_modules', pkg), join(dir, 'repos', pkg), { recursive: true });
  writeFileSync(
    join(dir, 'pipeline.config.ts'),
    `export default ${JSON.stringify({ name: 'damage', format: 'raw', sources: [{ dir: 'repos/uvu' }, { dir: 'repos/kleur' }, { dir: 'repos/diff' }], workers: 1 }, null, 2)};\n`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'retrace-damage-'));
makeProject(work);
const refCache = join(work, 'ref-cache');
const ref = retrace(work, ['build', '--json', '--cache-dir', refCache, '--out', join(work, 'ref-out')], BUILD_TIMEOUT);
if (ref.code !== 0) throw new Error(`reference build failed (${ref.code}): ${ref.stderr}`);
const reference = ref.json.version as string;
console.log(`reference version ${reference}: ${ref.json.documents} documents, ${ref.json.tokens} tokens, built in ${(ref.ms / 1000).toFixed(1)} s`);

interface Row { kind: DamageKind; trials: number; held: number; firstOk: number; hangs: number; maxMs: number; failures: string[] }
const rows: Row[] = [];
for (const kind of kinds) {
  const row: Row = { kind, trials: 0, held: 0, firstOk: 0, hangs: 0, maxMs: 0, failures: [] };
  for (let t = 0; t < trials; t++) {
    const seed = seed0 * 1000 + DAMAGE_KINDS.indexOf(kind) * 100 + t;
    const dir = join(work, `trial-${kind}-${t}`);
    const cache = join(dir, 'cache');
    copyCache(refCache, cache);
    const what = damage(cache, kind, seeded(seed));
    const notes: string[] = [];
    if (NEEDS_REPAIR.has(kind)) {
      const first = retrace(work, ['build', '--json', '--cache-dir', cache, '--out', join(dir, 'out0')], BUILD_TIMEOUT);
      notes.push(`before repair: exit ${first.code}${first.stderr.includes('CACHE_DAMAGED') ? ' CACHE_DAMAGED' : ''}`);
      const rep = retrace(work, ['cache', 'verify', '--repair', '--cache-dir', cache], BUILD_TIMEOUT);
      notes.push(`repair exit ${rep.code}`);
    }
    const b1 = retrace(work, ['build', '--json', '--cache-dir', cache, '--out', join(dir, 'out1')], BUILD_TIMEOUT);
    const b2 = retrace(work, ['build', '--json', '--cache-dir', cache, '--out', join(dir, 'out2')], BUILD_TIMEOUT);
    const v = retrace(work, ['cache', 'verify', '--json', '--cache-dir', cache], BUILD_TIMEOUT);
    const computed2 = b2.json ? Object.values(b2.json.stages as Record<string, { computed: number }>).reduce((n, s) => n + s.computed, 0) : -1;
    const hang = b1.timedOut || b2.timedOut || v.timedOut;
    const ok = !hang && b2.code === 0 && b2.json?.version === reference && computed2 === 0 && v.code === 0 && v.json?.ok === true;
    row.trials++;
    if (ok) row.held++;
    if (b1.code === 0 && b1.json?.version === reference) row.firstOk++;
    if (hang) row.hangs++;
    row.maxMs = Math.max(row.maxMs, b1.ms, b2.ms);
    const warnings = [...new Set((b1.stderr.match(/warning [A-Z_]+/g) ?? []).map((w) => w.slice(8)))].join(',');
    const line = `${kind} #${t} (seed ${seed}): ${what}; ${notes.join(', ')}${notes.length ? '; ' : ''}build1 exit ${b1.code} ${b1.json?.version ?? '-'} [${warnings}], build2 exit ${b2.code} ${b2.json?.version ?? '-'} computed ${computed2}, verify ${v.json?.ok ? 'clean' : `exit ${v.code}`}${hang ? ' HANG' : ''} => ${ok ? 'ok' : 'FAILED'}`;
    console.log(line);
    if (!ok) row.failures.push(`${line}\n    ${(b1.stderr + b2.stderr).split('\n').filter((l) => /error|INTERNAL/.test(l)).slice(0, 3).join('\n    ')}`);
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push(row);
}

console.log('\n| damage to the local cache (then build twice) | trials | second build = reference, computes nothing, verify clean | first build = reference | hangs | slowest build |');
console.log('|---|---|---|---|---|---|');
const label: Record<DamageKind, string> = {
  bytes8: '8 random bytes overwritten in data.mdb',
  bytes64: '64 random bytes overwritten in data.mdb',
  'page-header': '8 random bytes over a B-tree page header (LMDB reports it)',
  'item-record': 'one corrupted record in the `items` store',
  'wrong-type': 'a record whose msgpack type is wrong',
  'file-blob': 'a corrupted file blob (raw format)',
  'shard-blob': 'a corrupted shard blob',
  meta: 'LMDB meta page(s) damaged (then `cache verify --repair`)',
  truncate: 'data.mdb truncated (then `cache verify --repair`)',
  'stale-lock': 'a writer killed holding the write lock',
};
for (const r of rows) console.log(`| ${label[r.kind]} | ${r.trials} | ${r.held}/${r.trials} | ${r.firstOk}/${r.trials} | ${r.hangs} | ${(r.maxMs / 1000).toFixed(1)} s |`);
for (const r of rows) for (const f of r.failures) console.log(`FAILED ${f}`);
rmSync(work, { recursive: true, force: true });
process.exitCode = rows.every((r) => r.held === r.trials) ? 0 : 1;
