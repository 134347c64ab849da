/**
 * Issue 17 ("builds that reach 1M repositories"): a manifest of N sources through every path that
 * writes or reads one, under the default heap (run it WITHOUT --max-old-space-size): the version
 * id (`versionOf`: SHA-256 of the canonical text), `writeVersion` (manifest.json and the dataset
 * card), `findVersion` + the manifest read back, `verifyVersion`, `dataset show`'s lines,
 * `dataset diff` against a second version with one source changed, and the no-op's check of the
 * shards. Before, each of these made the manifest one string: JSON.stringify / canonicalJson /
 * readFileSync + JSON.parse, and V8 refuses a string of more than 2^29 characters.
 *
 * Sources are synthetic, shaped like the sources of a build of real npm packages (bench/corpus-scale.ts
 * at 200 packages: ~940 bytes of JSON per source; skipped files: median 1, p90 8, some over 100);
 * one document each. `--baseline` also runs the old one-string code on the same manifest and says
 * where it fails.
 *
 *   node --import tsx bench/manifest-scale.ts [--sources 1000000] [--baseline] [--no-diff]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { findVersion, versionOf, verifyVersion, writeVersion, type ManifestBody } from '../src/dataset.ts';
import { diffVersions } from '../src/dataset-diff.ts';
import { describeManifest, manifestDiff } from '../stages/describe.ts';
import { datasetCard } from '../stages/shard/card.ts';
import { rng } from '../test/fixtures/tokenizer/adversarial.ts';

const { values: o } = parseArgs({ options: { sources: { type: 'string', default: '1000000' }, baseline: { type: 'boolean', default: false }, 'no-diff': { type: 'boolean', default: false } } });
const N = Number(o.sources);

const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

const REASONS: Array<[string, string, string]> = [
  ['FILE_MINIFIED', 'generated file by name (*.min.js, *.bundle.js, *.min.css, source map)', '.js.map'],
  ['FILE_DUPLICATE', 'same bytes as sources[1] @babel__code-frame:LICENSE', ''],
  ['FILE_BINARY', 'binary content (NUL bytes in the first 8 KiB)', '.png'],
  ['FILE_TOO_LARGE', 'over ingest.maxFileBytes (1048576 bytes)', '.json'],
];

/** The body of a build of `n` sources; `changed` gets another snapshot (a one-source edit). */
function makeBody(n: number, changed = -1): ManifestBody {
  const r = rng(42);
  const sources: unknown[] = [];
  const documents: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const name = `org-${i % 9973}__package-${i}`;
    const p = r();
    const skippedN = p < 0.45 ? 0 : p < 0.8 ? 1 : p < 0.9 ? 2 + Math.floor(r() * 5) : p < 0.99 ? 8 + Math.floor(r() * 20) : 100 + Math.floor(r() * 40);
    const skipped = Array.from({ length: skippedN }, (_, k) => {
      const [code, reason, ext] = REASONS[Math.floor(r() * REASONS.length)]!;
      return { path: `lib/module-${k}${ext || '.js'}`, code, reason };
    });
    const snapshot = hex(r, 32);
    sources.push({
      source: { dir: `/data/corpus/${name}` },
      kind: 'dir',
      name,
      document: name,
      snapshot: i === changed ? snapshot.split('').reverse().join('') : snapshot,
      files: 1 + Math.floor(r() * 60),
      skipped,
      license: 'MIT',
      licenseFrom: 'package.json',
      hygiene: { duplicates: Math.floor(r() * 3), nearDuplicates: 0, contaminated: 0, secretFiles: 0, secrets: {} },
    });
    const tokens = 500 + Math.floor(r() * 60000);
    documents.push({ id: name, repo: name, text: hex(r, 32), tokens, trained: tokens });
  }
  return {
    manifestVersion: 1,
    name: 'manifest-scale',
    shards: [{ file: 'data/train-00000-of-00001.parquet', sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', bytes: 0, rows: n, tokens: 0 }],
    format: 'raw',
    sources,
    stages: { ingest: '5', parse: '9', graph: '4', render: '3', tokenize: '2', shard: '7' },
    tokenizer: { name: 'llama3', bos: 128000, eos: 128001 },
    output: { layout: 'documents', format: 'parquet', compression: 'zstd' },
    documents,
  };
}

/** canonicalJson as it was before (45fc3ed): the baseline's version id was sha256 of this one string. */
function oldCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return value === undefined ? 'null' : JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(oldCanonicalJson).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + oldCanonicalJson(obj[k])).join(',') + '}';
}

let heapPeak = 0;
const sampleHeap = () => (heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size));
const sampler = setInterval(sampleHeap, 50);
const MB = 1024 * 1024;
const rows: Array<[string, string]> = [];
async function phase<T>(name: string, f: () => T | Promise<T>): Promise<T> {
  sampleHeap();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await f();
  const cpu = process.cpuUsage(cpu0);
  sampleHeap();
  rows.push([name, `${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} CPU-s, heap now ${(getHeapStatistics().used_heap_size / MB).toFixed(0)} MB`]);
  console.error(`${name}: ${rows.at(-1)![1]}`);
  return v;
}

function tryOld(name: string, f: () => unknown): void {
  const t0 = performance.now();
  try {
    f();
    rows.push([`baseline: ${name}`, `ok, ${((performance.now() - t0) / 1000).toFixed(2)} s`]);
  } catch (err) {
    rows.push([`baseline: ${name}`, `FAILS: ${(err as Error).name}: ${(err as Error).message}`]);
  }
  console.error(`${rows.at(-1)![0]}: ${rows.at(-1)![1]}`);
}

const dir = mkdtempSync(join(tmpdir(), 'retrace-manifest-scale-'));
const load0 = loadavg()[0]!;
try {
  let body: ManifestBody | undefined = await phase(`make the body of ${N} sources`, () => makeBody(N));
  if (o.baseline) {
    tryOld('canonicalJson(body) (the version id)', () => oldCanonicalJson(body));
    tryOld('JSON.stringify(manifest, null, 2) (manifest.json)', () => JSON.stringify(body, null, 2));
  }
  const id = await phase('versionOf (the version id)', () => versionOf(body!));
  const shard = new Uint8Array(0);
  const a = await phase('writeVersion (manifest.json + card)', () => writeVersion(dir, body!, async () => shard, { card: datasetCard }));
  const size = statSync(join(a.path, 'manifest.json')).size;
  rows.push(['manifest.json', `${(size / MB).toFixed(0)} MB (${(size / N).toFixed(0)} bytes per source), card ${(statSync(join(a.path, 'README.md')).size / 1024).toFixed(0)} KB`]);
  if (a.manifest.version !== id.version) throw new Error('writeVersion and versionOf disagree');
  await phase('writeVersion again (the existing version checked)', () => writeVersion(dir, body!, async () => shard, { card: datasetCard }));
  body = undefined;
  (a as { manifest?: unknown }).manifest = undefined;
  {
    // Scoped: a manifest read back is let go before the diff reads two.
    const found = await phase('findVersion (no manifest read)', () => findVersion(dir, id.version));
    const m = await phase('the manifest read back', () => found.manifest);
    if ((m.sources as unknown[]).length !== N || m.version !== id.version) throw new Error('the manifest read back is not the one written');
    const v = await phase('verifyVersion (version id recomputed)', () => verifyVersion(found));
    if (!v.ok) throw new Error(`verify: ${JSON.stringify(v.problems)}`);
    const lines = await phase('dataset show: describeManifest', () => describeManifest(m).length);
    rows.push(['dataset show lines', String(lines)]);
  }
  if (!o['no-diff']) {
    const b = await phase('writeVersion of a second version (one source changed)', async () => {
      const body2 = makeBody(N, Math.floor(N / 2));
      return (await writeVersion(dir, body2, async () => shard, { card: datasetCard })).manifest.version;
    });
    const d = await phase('dataset diff (both manifests read)', () => diffVersions(findVersion(dir, id.version), findVersion(dir, b), manifestDiff));
    rows.push(['dataset diff', `${d.settings.length} setting(s) changed: ${d.settings.map((s) => s.field).join(', ')}`]);
    if (d.settings.length !== 1) throw new Error('diff should name exactly one changed field');
  }
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
const h = getHeapStatistics();
console.log(`manifest-scale: ${N} sources; node ${process.version}; heap limit ${(h.heap_size_limit / MB).toFixed(0)} MB; load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on 2 cores`);
for (const [k, val] of rows) console.log(`  ${k.padEnd(58)} ${val}`);
console.log(`  ${'peak V8 heap (sampled every 50 ms)'.padEnd(58)} ${(heapPeak / MB).toFixed(0)} MB; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
