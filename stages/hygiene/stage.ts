/**
 * The hygiene stages: one cached item per file (secrets, decontaminate, minhash) or per
 * repository (license), each keyed only by what changes its output: the file's content hash,
 * the rule set / algorithm version, and for decontamination the benchmark files' hash and n.
 * The hygiene *mode* (redact, skip-file, off) is in no key: it only changes how the findings
 * are applied, so switching it recomputes nothing here, only the files it changes downstream.
 */
import { defineStage, type StageContext } from '../../src/stage.ts';
import { PARSE_YOUNG_GENERATION_MB } from '../parse/stage.ts';
import type { SecretsTask } from './secrets-task.ts';
import type { ContentHash } from '../../src/hash.ts';
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { findSecrets, SECRET_RULES_VERSION, type SecretFinding } from './secrets.ts';
import { contaminatedBy, type BenchmarkIndex } from './decontaminate.ts';
import { minhash, MINHASH_VERSION, type MinHashSig } from './minhash.ts';
import { detectLicense, LICENSE_DETECTOR_VERSION, type LicenseResult } from './license.ts';

const dec = new TextDecoder();
const SECRETS_TASK = new URL('./secrets-task.ts', import.meta.url).href;

export interface HygieneFileInput {
  repo: string;
  path: string;
  hash: ContentHash;
  bytes: Uint8Array;
}

export const secretsStage = defineStage<HygieneFileInput, { findings: SecretFinding[] }>({
  name: 'hygiene-secrets',
  version: '1',
  deps: ['ingest'],
  description: 'secrets and email addresses in one file (secretlint recommended rules + our own), as typed ranges',
  item: (i) => `${i.repo}:${i.path}`,
  // The path is in the key: secretlint's rules look at the file name (e.g. .env, *.pem).
  key: (i) => ({ inputs: { content: i.hash }, settings: { rules: SECRET_RULES_VERSION, path: i.path } }),
  async run(i, ctx?: StageContext) {
    // `status` computes hygiene items inline, without a context (index.ts): no pool there.
    if (!ctx) return { findings: await findSecrets(dec.decode(i.bytes), i.path) };
    // In a worker: the bytes are copied once into a buffer of their own and moved there. The
    // parse stage's threads (same heap settings), which the chains that follow use anyway.
    const bytes = new Uint8Array(i.bytes).buffer;
    const task: SecretsTask = { path: i.path, bytes };
    return { findings: await ctx.pool.run<SecretFinding[]>(SECRETS_TASK, task, { transfer: [bytes], item: `${i.repo}:${i.path}`, youngGenerationMb: PARSE_YOUNG_GENERATION_MB }) };
  },
});

export const decontaminateStage = defineStage<HygieneFileInput & { bench: BenchmarkIndex }, { item?: string }>({
  name: 'hygiene-decontaminate',
  version: '1',
  deps: ['ingest'],
  description: 'the first benchmark item sharing a token n-gram with one file',
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({ inputs: { content: i.hash, benchmark: i.bench.hash }, settings: { ngram: i.bench.ngram } }),
  async run(i) {
    const item = contaminatedBy(dec.decode(i.bytes), i.bench);
    return item === undefined ? {} : { item };
  },
});

export const minhashStage = defineStage<HygieneFileInput, MinHashSig>({
  name: 'hygiene-minhash',
  version: '1',
  deps: ['ingest'],
  description: 'MinHash signature of one file (token 5-gram shingles, 128 permutations)',
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({ inputs: { content: i.hash }, settings: { algorithm: MINHASH_VERSION } }),
  async run(i) {
    return minhash(dec.decode(i.bytes));
  },
});

export interface LicenseInput {
  repo: string;
  /** Root license-bearing files: path, content hash, text. */
  files: Array<{ path: string; hash: ContentHash; text: string }>;
}

export const licenseStage = defineStage<LicenseInput, LicenseResult>({
  name: 'hygiene-license',
  version: '1',
  deps: ['ingest'],
  description: "a repository's license as an SPDX expression (package.json, pyproject.toml, setup.cfg, LICENSE text)",
  item: (i) => i.repo,
  key: (i) => ({ inputs: { files: hashText(canonicalJson(i.files.map((f) => [f.path, f.hash]))) }, settings: { detector: LICENSE_DETECTOR_VERSION } }),
  async run(i) {
    return detectLicense(new Map(i.files.map((f) => [f.path, f.text])));
  },
});


/**
 * The signature pass's result for one source, memoised by the source's stat stamp (the same
 * stamp the up-to-date shortcut trusts: every entry's path, size, mtime, ctime, inode, mode; a
 * git source's commit; a tarball's stat), so a build re-reads and re-hashes only the sources that
 * changed (issue 17). The value is exactly what the per-file items give (they run inside it when
 * it misses), so decisions are identical either way. `--recheck`, `status` and sources without
 * a stamp (remote git) skip it and scan file by file. Not pinned in the manifest: it changes
 * how fast a scan is found, never what it says.
 */
export interface ScanMemoInput<T> {
  repo: string;
  /** stampSource's digest of this source. */
  stamp: string;
  /** Everything besides the files a scan depends on (settings, limits, versions, location). */
  settings: Record<string, unknown>;
  scan: () => Promise<T>;
}

export const scanMemoStage = defineStage<ScanMemoInput<unknown>, unknown>({
  name: 'hygiene-scan',
  version: '1',
  deps: ['hygiene-secrets', 'hygiene-decontaminate', 'hygiene-minhash', 'hygiene-license'],
  description: "one source's hygiene signatures (per-file findings, MinHash, license), reused while the source's stat stamp is unchanged",
  memo: true,
  item: (i) => i.repo,
  key: (i) => ({ inputs: { stamp: i.stamp }, settings: i.settings }),
  async run(i) {
    return i.scan();
  },
});

export const hygieneStages = [secretsStage, decontaminateStage, minhashStage, licenseStage, scanMemoStage] as const;
