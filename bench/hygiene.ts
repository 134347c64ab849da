/**
 * Cost of each hygiene step on the embedded corpus (the CORPUS packages in node_modules), in MB/s
 * on one thread, next to the parse stage's (its worker task, run in this thread) for scale.
 *
 *   node --import tsx bench/hygiene.ts
 *
 * Decontamination runs against a planted benchmark of 500 synthetic items (no benchmark data is
 * shipped); its cost is per source byte and barely depends on the benchmark's size (one hash-map
 * probe per token n-gram).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS, corpusRoot, listFiles } from '../test/fixtures/analysis/load.ts';
import { hashBytes } from '../src/hash.ts';
import { findSecrets } from '../stages/hygiene/secrets.ts';
import { minhash } from '../stages/hygiene/minhash.ts';
import { contaminatedBy, type BenchmarkIndex } from '../stages/hygiene/decontaminate.ts';
import { codeTokens, ngramHash } from '../stages/hygiene/tokens.ts';
import { detectLicense, isLicenseInput } from '../stages/hygiene/license.ts';
import { languageFor } from '../stages/parse/task.ts';
import parseTask from '../stages/parse/task.ts';

const files: Array<{ repo: string; path: string; text: string; bytes: Uint8Array }> = [];
for (const repo of CORPUS) {
  const root = corpusRoot(repo);
  for (const path of listFiles(root)) {
    if (!/\.(js|mjs|cjs|ts|tsx|json|md)$/.test(path) && !isLicenseInput(path)) continue;
    const bytes = readFileSync(join(root, path));
    if (bytes.length > 1 << 20) continue;
    files.push({ repo, path, text: bytes.toString('utf8'), bytes });
  }
}
const totalMB = files.reduce((n, f) => n + f.bytes.length, 0) / 1e6;

const grams = new Map<number, string>();
let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
for (let i = 0; i < 500; i++) {
  const words = Array.from({ length: 60 }, () => `w${Math.floor(rand() * 5000)}`);
  const t = codeTokens(words.join(' '));
  for (let k = 0; k + 13 <= t.length; k++) grams.set(ngramHash(t, k, 13), `Planted/${i}`);
}
const bench: BenchmarkIndex = { hash: 'planted', ngram: 13, grams, items: 500 };

async function time(name: string, mb: number, fn: () => Promise<unknown> | unknown): Promise<void> {
  await fn(); // warm-up (lazy loads: secretlint rules, SPDX texts, the parser's WASM)
  const t = performance.now();
  await fn();
  const s = (performance.now() - t) / 1000;
  console.log(`${name.padEnd(28)} ${mb.toFixed(2).padStart(7)} MB  ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(2).padStart(8)} MB/s`);
}

console.log(`embedded corpus: ${CORPUS.join(', ')}; ${files.length} files, ${totalMB.toFixed(2)} MB; one thread`);
await time('exact dedup (xxh128)', totalMB, () => files.forEach((f) => hashBytes(f.bytes)));
await time('secrets (scan)', totalMB, async () => {
  for (const f of files) await findSecrets(f.text, f.path);
});
await time('near-dedup (MinHash 128)', totalMB, () => files.forEach((f) => minhash(f.text)));
await time('decontaminate (13-grams)', totalMB, () => files.forEach((f) => contaminatedBy(f.text, bench)));
const licenseFiles = files.filter((f) => isLicenseInput(f.path) && f.path !== 'package.json');
const licenseMB = licenseFiles.reduce((n, f) => n + f.bytes.length, 0) / 1e6;
await time('license (LICENSE texts only)', licenseMB, () => licenseFiles.forEach((f) => detectLicense(new Map([[f.path, f.text]]))));
const code = files.filter((f) => languageFor(f.path));
const codeMB = code.reduce((n, f) => n + f.bytes.length, 0) / 1e6;
await time('parse stage (code files)', codeMB, async () => {
  for (const f of code) await parseTask({ path: f.path, text: f.text });
});
