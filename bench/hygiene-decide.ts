/**
 * What the hygiene decisions cost as the corpus grows (issue 17: builds that reach 1M
 * repositories): `decide()` over N synthetic sources of F files each, with 'exact' and 'near'
 * dedup, in ms and µs per source. Every build replays the decisions of every source (its scans
 * come from the cache), edits included, so the per-source cost must stay flat in N.
 *
 *   node --import tsx bench/hygiene-decide.ts [--sizes 1000,16000,64000,256000] [--near-sizes 1000,4000,16000]
 *        [--files 20] [--modes exact,near]
 *
 * The sources are random but realistic for dedup: 1% of them copy an earlier source whole
 * (exact duplicates), 1% are near-duplicates of an earlier one (a few files changed), and every
 * file has a MinHash signature (the 'near' mode's input). Near dedup keeps a signature per kept
 * file (~0.6 KB), and this script holds every scan besides: its sizes stay within the default heap.
 */
import { parseArgs } from 'node:util';
import type { ContentHash } from '../src/hash.ts';
import { decide, type ScannedFile, type SourceScan } from '../stages/hygiene/index.ts';
import { resolveHygiene } from '../stages/hygiene/config.ts';
import { PERMUTATIONS } from '../stages/hygiene/minhash.ts';

const { values: o } = parseArgs({
  options: { sizes: { type: 'string', default: '1000,16000,64000,256000' }, 'near-sizes': { type: 'string', default: '1000,4000,16000' }, files: { type: 'string', default: '20' }, modes: { type: 'string', default: 'exact,near' } },
});
const sizes = { exact: o.sizes!.split(',').map(Number), near: o['near-sizes']!.split(',').map(Number) };
const perSource = Number(o.files);

let seed = 42;
const rnd = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed;
};
const hex = (): ContentHash => Array.from({ length: 4 }, () => rnd().toString(16).padStart(8, '0')).join('') as ContentHash;
const sig = (): number[] => Array.from({ length: PERMUTATIONS }, () => rnd());

function corpus(n: number, withSigs: boolean): SourceScan[] {
  const out: SourceScan[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd() % 100;
    let files: ScannedFile[];
    if (r === 0 && i > 0) {
      files = out[rnd() % i]!.files.map((f) => ({ ...f })); // a copy of an earlier source
    } else if (r === 1 && i > 0) {
      // Near-duplicate: most files kept, two changed (their signatures too).
      files = out[rnd() % i]!.files.map((f, k) => (k < 2 ? { ...f, hash: hex(), ...(f.sig && { sig: f.sig.map((v, p) => (p % 16 === 0 ? rnd() : v)) }) } : { ...f }));
    } else {
      files = Array.from({ length: perSource }, (_, k) => ({ path: `src/f${k}.js`, hash: hex(), size: 2000, ...(withSigs && { sig: sig(), shingles: 200 }) }));
    }
    out.push({ index: i, name: `repo${i}`, license: { license: 'MIT', from: 'LICENSE' } as never, files });
  }
  return out;
}

console.log(`hygiene decisions: N sources x ${perSource} files (synthetic), one thread`);
console.log('mode   sources   total ms   µs per source');
for (const mode of o.modes!.split(',') as Array<'exact' | 'near'>) {
  const settings = resolveHygiene({ dedup: mode, secrets: 'off' }, process.cwd());
  for (const n of sizes[mode]) {
    const scans = corpus(n, mode === 'near');
    decide(scans.slice(0, Math.min(200, n)), settings); // warm the JIT
    const t0 = performance.now();
    const d = decide(scans, settings);
    const ms = performance.now() - t0;
    const skipped = [...d.values()].filter((x) => x.skipSource).length;
    console.log(`${mode.padEnd(6)} ${String(n).padStart(8)} ${ms.toFixed(0).padStart(10)} ${((ms * 1000) / n).toFixed(1).padStart(15)}   (${skipped} sources skipped as duplicates)`);
  }
}
