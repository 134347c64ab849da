/**
 * Data hygiene, the stage glue: a signature pass over every source, then decisions in config
 * order, then what processSource applies to one repository.
 *
 *   scan (every source, every partition)      per file: content hash; hygiene-secrets,
 *                                             hygiene-decontaminate, hygiene-minhash items;
 *                                             per repository: hygiene-license
 *   decide (pure, config order)               license filter -> repository near-duplicate ->
 *                                             per file: contaminated, secret (skip-file),
 *                                             exact duplicate, near duplicate
 *   apply (processSource, owned sources)      drop the decided files; redact the rest
 *
 * Every partition of `build --shard I/N` scans all sources (the per-file items come from the
 * shared cache after the first partition computed them) and runs the same pure `decide`, so
 * each one sees the same decisions as a single machine and `merge` assembles the same version.
 */
import pLimit from 'p-limit';
import { resolve, sep } from 'node:path';
import { hashBytes, type ContentHash } from '../../src/hash.ts';
import type { PipelineRun, SourceConfig } from '../config.ts';
import type { StageDef } from '../../src/stage.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { openSource, type FileLimits, type OpenedSource } from '../ingest/sources.ts';
import { sourceStampOf } from '../ingest/stamp.ts';
import { contentDigest, rememberDigest } from '../ingest/content.ts';
import { Budget, FILE_BYTES_IN_FLIGHT, FILES_IN_FLIGHT, InOrder, sourcesAtOnce } from '../ingest/inflight.ts';
import { resolveHygiene, type HygieneSettings } from './config.ts';
import { loadBenchmarks, type BenchmarkIndex } from './decontaminate.ts';
import { isLicenseInput, licenseAllowed, LICENSE_DETECTOR_VERSION, type LicenseResult } from './license.ts';
import { hexShard, ShardedMap } from './shards.ts';
import { jaccard, LshIndex, MIN_SHINGLES, THRESHOLD, unionSig, SHINGLE, PERMUTATIONS, BANDS, ROWS, MINHASH_VERSION } from './minhash.ts';
import { countByKind, redact, SECRET_RULES_VERSION, type SecretFinding } from './secrets.ts';
import { decontaminateStage, licenseStage, minhashStage, scanMemoStage, secretsStage, type HygieneFileInput } from './stage.ts';

export { hygieneStages } from './stage.ts';
export { readHygieneConfig, resolveHygiene, type HygieneConfig, type HygieneSettings } from './config.ts';

export interface ScannedFile {
  path: string;
  hash: ContentHash;
  size: number;
  findings?: SecretFinding[];
  contaminated?: string;
  sig?: number[];
  shingles?: number;
}

export interface SourceScan {
  index: number;
  name: string;
  license: LicenseResult;
  files: ScannedFile[];
  /** The source could not be read: the build reports it; no decision is made for it. */
  failed?: boolean;
}

export interface HygieneSkip {
  path: string;
  code: ErrorCode;
  reason: string;
}

/** What the decisions say about one source. */
export interface SourceDecision {
  license?: string;
  licenseFrom?: string;
  /** The whole repository is left out. */
  skipSource?: { code: ErrorCode; reason: string };
  /** Files left out, by path. */
  drop: Map<string, HygieneSkip>;
  /** Within-repository duplicates: dropped path -> kept path (import edges follow the kept copy). */
  aliases: Map<string, string>;
  /** Secret findings of kept files, by path (mode 'redact'). */
  findings: Map<string, SecretFinding[]>;
}

/** Per-source hygiene figures for the manifest (`sources[i].hygiene`). */
export interface SourceHygiene {
  skipped?: { code: string; reason: string };
  duplicates: number;
  nearDuplicates: number;
  contaminated: number;
  secretFiles: number;
  secrets: Record<string, number>;
}

export function hygieneOf(run: PipelineRun): HygieneSettings {
  return resolveHygiene(run.loaded.config.hygiene, run.loaded.dir);
}

/**
 * Files smaller than this are never dropped as duplicates: `export {};`, an empty `__init__.py`
 * or a one-line re-export is structure, not content, and is shared by unrelated repositories.
 */
export const MIN_DEDUP_BYTES = 64;

/** Build output folders: a copy under one of these yields to a copy elsewhere (src/ is kept, dist/ dropped). */
const BUILD_DIR = /(^|\/)(dist|build|out|lib|es|es5|es6|es20\d\d|esnext|esm|mjs|cjs|umd|bundle|bundles|min)(\/|$)/;
/** Compiled JavaScript: identical bytes as a .js and a .ts (or .tsx) file means the .js is the build's copy. */
const COMPILED_EXT = /\.(js|mjs|cjs)$/;

function keepRank(path: string): [number, number, number, string] {
  return [BUILD_DIR.test(path) ? 1 : 0, COMPILED_EXT.test(path) ? 1 : 0, path.split('/').length, path];
}

function byKeepRank(x: [number, number, number, string], y: [number, number, number, string]): number {
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || (x[3] < y[3] ? -1 : x[3] > y[3] ? 1 : 0);
}

/** `files` in keep order (the copy a duplicate keeps comes first); each rank computed once, not per comparison. */
function inKeepOrder<F extends { path: string }>(files: readonly F[]): F[] {
  const ranked = files.map((f) => ({ f, rank: keepRank(f.path) }));
  ranked.sort((a, b) => byKeepRank(a.rank, b.rank));
  return ranked.map((r) => r.f);
}

/** Runs a hygiene stage item through the cache; in `status` mode computes it directly (cheap, pure), so status can count what would be dropped. */
async function item<I, O>(run: PipelineRun, stage: StageDef<I, O>, input: I): Promise<O> {
  if (run.mode === 'status') return stage.run(input, undefined as never);
  return (await run.exec.run(stage, input)).value;
}

const dec = new TextDecoder();

/**
 * The signature pass over every configured source, started in config order: a promise per
 * source (each is also awaited by `decisionsInOrder`; whoever starts the pass waits for all of
 * them to settle before the build ends). A source whose stat stamp is unchanged since a build
 * scanned it is answered by its memo (hygiene-scan) without reading a file; the others are read
 * with their files' items in flight together (bounded by bytes, ingest/inflight.ts).
 */
export function scanSources(run: PipelineRun, limits: FileLimits): { scans: Array<Promise<SourceScan>>; settings: HygieneSettings; bench?: BenchmarkIndex } {
  const settings = hygieneOf(run);
  const bench = settings.decontaminate ? loadBenchmarks(settings.decontaminate.files, settings.decontaminate.ngram) : undefined;
  const sources = run.loaded.config.sources;
  const limit = pLimit(sourcesAtOnce(run.pool.threads));
  const budget = new Budget(FILE_BYTES_IN_FLIGHT, FILES_IN_FLIGHT);
  const scans = sources.map((spec, index) => limit(() => memoScan(run, spec, index, limits, settings, budget, bench)));
  for (const p of scans) p.catch(() => undefined); // reported through the decisions that wait for it
  return { scans, settings, bench };
}

/** What a source's scan depends on besides its files' bytes: part of its memo's key. */
function scanSettings(run: PipelineRun, spec: SourceConfig, limits: FileLimits, s: HygieneSettings, bench?: BenchmarkIndex): Record<string, unknown> {
  // Where the source is; for a dir, the build's own folders inside it (the reader leaves them out).
  const location = resolve(run.loaded.dir, 'dir' in spec ? spec.dir : 'git' in spec ? spec.git : spec.tarball);
  const inside = 'dir' in spec ? run.writes.filter((w) => w === location || w.startsWith(location + sep)) : [];
  return {
    source: spec,
    location,
    exclude: inside,
    limits,
    secrets: s.secrets !== 'off' ? { rules: SECRET_RULES_VERSION, stage: secretsStage.version } : false,
    decontaminate: bench ? { benchmark: bench.hash, ngram: bench.ngram, stage: decontaminateStage.version } : false,
    near: s.dedup === 'near' ? { algorithm: MINHASH_VERSION, stage: minhashStage.version } : false,
    license: { detector: LICENSE_DETECTOR_VERSION, stage: licenseStage.version },
  };
}

type Scanned = Omit<SourceScan, 'index' | 'failed'>;

async function memoScan(run: PipelineRun, spec: SourceConfig, index: number, limits: FileLimits, s: HygieneSettings, budget: Budget, bench?: BenchmarkIndex): Promise<SourceScan> {
  const stamp = run.mode !== 'status' && !run.recheck ? sourceStampOf(run.loaded, index, spec, run.loaded.dir, run.writes) : undefined;
  // A hit opens nothing: opening a tarball reads and inflates it whole, a git source runs git.
  const memo = stamp === undefined ? undefined : { repo: `sources[${index}]`, stamp, settings: scanSettings(run, spec, limits, s, bench) };
  const hit = memo && (await run.exec.peek(scanMemoStage, { ...memo, scan: () => Promise.reject(new Error('a peek runs nothing')) }));
  if (hit) return { index, ...(hit.value as Scanned) };
  let opened: OpenedSource;
  try {
    opened = await openSource(spec, run.loaded.dir, limits, run.writes);
  } catch {
    return { index, name: `sources[${index}]`, license: {}, files: [], failed: true };
  }
  if (!memo) return { index, ...(await scanSource(run, opened, s, budget, bench)) };
  // The stamp's memo missed (an edit, or another machine): the same scan keyed by the source's
  // content (ingest/content.ts), which a remote cache shares; the digest is kept for the chain.
  const digest = await contentDigest(opened);
  rememberDigest(run, index, digest);
  const { location: _l, exclude: _e, ...portable } = memo.settings;
  const byContent = { repo: memo.repo, stamp: `content:${digest}`, settings: portable, scan: () => scanSource(run, opened, s, budget, bench) };
  const r = await run.exec.run(scanMemoStage, { ...memo, scan: async () => (await run.exec.run(scanMemoStage, byContent)).value });
  return { index, ...(r.value as Scanned) };
}

async function scanSource(run: PipelineRun, opened: OpenedSource, s: HygieneSettings, budget: Budget, bench?: BenchmarkIndex): Promise<Scanned> {
  const repo = opened.identity.name;
  const pending = new InOrder<ScannedFile>();
  const licenseFiles: Array<{ path: string; hash: ContentHash; text: string }> = [];
  for await (const f of opened.files()) {
    if (pending.failed) break;
    const n = f.bytes.byteLength;
    await budget.take(n);
    pending.add(scanFile(run, repo, f.path, f.bytes, s, bench).finally(() => budget.give(n)));
    if (isLicenseInput(f.path)) licenseFiles.push({ path: f.path, hash: hashBytes(f.bytes), text: dec.decode(f.bytes) });
  }
  // Settled in path order: the first failure in that order is the one reported.
  const files = await pending.values();
  const license = await item(run, licenseStage, { repo, files: licenseFiles });
  return { name: repo, license, files };
}

/** One file's signatures: its content hash and its hygiene items (cached per file by content). */
async function scanFile(run: PipelineRun, repo: string, path: string, bytes: Uint8Array, s: HygieneSettings, bench?: BenchmarkIndex): Promise<ScannedFile> {
  const hash = hashBytes(bytes);
  const input: HygieneFileInput = { repo, path, hash, bytes };
  const sf: ScannedFile = { path, hash, size: bytes.length };
  if (s.secrets !== 'off') {
    const r = await item(run, secretsStage, input);
    if (r.findings.length > 0) sf.findings = r.findings;
  }
  if (bench) {
    const r = await item(run, decontaminateStage, { ...input, bench });
    if (r.item !== undefined) sf.contaminated = r.item;
  }
  if (s.dedup === 'near') {
    const r = await item(run, minhashStage, input);
    sf.sig = r.sig;
    sf.shingles = r.shingles;
  }
  return sf;
}

/**
 * Decisions for every source, in config order: a file is kept when it is the first copy of its
 * bytes (and, with 'near', of its content) among the kept files of earlier sources and, within
 * its repository, the preferred copy (not under a build folder, shallowest, then by path).
 */
export function decide(scans: readonly SourceScan[], s: HygieneSettings): Map<number, SourceDecision> {
  const decider = new Decider(s);
  return new Map([...scans].sort((a, b) => a.index - b.index).map((scan) => [scan.index, decider.add(scan)]));
}

/**
 * The same decisions as the scans arrive: source i's depends only on the scans of sources 0..i,
 * so a build starts a repository's chain as soon as it and every earlier source are scanned,
 * instead of after the whole corpus (the worker threads would idle through the signature pass).
 * A failed scan fails its decision and every later one (the build stops, as it would have).
 */
export function decisionsInOrder(scans: ReadonlyArray<Promise<SourceScan>>, s: HygieneSettings): Array<Promise<SourceDecision>> {
  const decider = new Decider(s);
  let prev: Promise<unknown> = Promise.resolve();
  return scans.map((scan) => {
    const d = prev.then(() => scan).then((x) => decider.add(x));
    d.catch(() => undefined); // awaited by the sources that need it; a partition needs only its own
    prev = d;
    return d;
  });
}

/** Decides sources one at a time, in config order (`add` must see index 0, 1, 2, ...). */
class Decider {
  private readonly taken = new ShardedMap<ContentHash, { index: number; name: string; path: string }>(hexShard);
  /** Kept files' signatures, as Uint32Array (512 bytes each, half a number[]'s): near dedup holds one per kept file. */
  private readonly fileLsh = new LshIndex<{ index: number; name: string; path: string; sig: Uint32Array }>();
  /** Kept sources' signatures (the union of their files'): a near-duplicate source is looked up, not compared with every earlier one. */
  private readonly repoLsh = new LshIndex<{ index: number; name: string; sig: ArrayLike<number> }>();

  constructor(private readonly s: HygieneSettings) {}

  add(scan: SourceScan): SourceDecision {
    const { s, taken, fileLsh, repoLsh } = this;
    const d: SourceDecision = { license: scan.license.license, licenseFrom: scan.license.from, drop: new Map(), aliases: new Map(), findings: new Map() };
    if (scan.failed || scan.files.length === 0) return d;
    const allow = s.licenses.allow;
    if (scan.license.license === undefined ? s.licenses.unknown === 'skip' : allow !== undefined && !licenseAllowed(scan.license.license, allow)) {
      d.skipSource = {
        code: 'LICENSE_NOT_ALLOWED',
        reason: scan.license.license === undefined ? 'no license found (hygiene.licenses.unknown is skip)' : `license ${scan.license.license} is not in hygiene.licenses.allow`,
      };
      return d;
    }
    let repoSig: number[] | undefined;
    if (s.dedup === 'near') {
      const sigs = scan.files.filter((f) => f.sig && (f.shingles ?? 0) > 0).map((f) => f.sig!);
      if (sigs.length > 0) {
        repoSig = unionSig(sigs);
        // The earliest kept source at the threshold among those sharing a band (LSH, as for
        // files: comparing every earlier source was quadratic, 196 s at 16k sources; a pair at
        // Jaccard 0.8 shares a band with probability 0.95, at 0.9 with 0.9999).
        const twin = repoLsh
          .candidates(repoSig)
          .map((r) => ({ r, j: jaccard(r.sig, repoSig!) }))
          .filter((x) => x.j >= THRESHOLD)
          .sort((a, b) => a.r.index - b.r.index)[0];
        if (twin) {
          d.skipSource = { code: 'SOURCE_DUPLICATE', reason: `near-duplicate of sources[${twin.r.index}] ${twin.r.name} (estimated Jaccard ${twin.j.toFixed(2)})` };
          return d;
        }
      }
    }
    const staged: Array<{ f: ScannedFile }> = [];
    const ordered = inKeepOrder(scan.files);
    let dups = 0;
    for (const f of ordered) {
      if (f.contaminated !== undefined) {
        d.drop.set(f.path, { path: f.path, code: 'FILE_CONTAMINATED', reason: `shares a token ${s.decontaminate?.ngram}-gram with benchmark item ${f.contaminated}` });
        continue;
      }
      if (f.findings && s.secrets === 'skip-file') {
        const kinds = Object.entries(countByKind(f.findings)).map(([k, n]) => `${k} ${n}`).join(', ');
        d.drop.set(f.path, { path: f.path, code: 'FILE_SECRET', reason: `holds secrets (${kinds})` });
        continue;
      }
      if (s.dedup !== 'off' && f.size >= MIN_DEDUP_BYTES) {
        const first = taken.get(f.hash);
        if (first) {
          const same = first.index === scan.index;
          d.drop.set(f.path, { path: f.path, code: 'FILE_DUPLICATE', reason: same ? `same bytes as ${first.path}` : `same bytes as sources[${first.index}] ${first.name}:${first.path}` });
          if (same) d.aliases.set(f.path, first.path);
          dups++;
          continue;
        }
        if (s.dedup === 'near' && f.sig && (f.shingles ?? 0) >= MIN_SHINGLES) {
          const near = fileLsh
            .candidates(f.sig)
            .filter((c) => c.index !== scan.index)
            .map((c) => ({ c, j: jaccard(c.sig, f.sig!) }))
            .find((x) => x.j >= THRESHOLD);
          if (near) {
            d.drop.set(f.path, { path: f.path, code: 'FILE_DUPLICATE', reason: `near-duplicate (estimated Jaccard ${near.j.toFixed(2)}) of sources[${near.c.index}] ${near.c.name}:${near.c.path}` });
            dups++;
            continue;
          }
        }
      }
      staged.push({ f });
      taken.set(f.hash, { index: scan.index, name: scan.name, path: f.path });
    }
    if (staged.length === 0 && dups > 0) {
      d.skipSource = { code: 'SOURCE_DUPLICATE', reason: 'every file is a copy of a file of an earlier source' };
      // Nothing of this source is written: its files stay taken by the earlier copies only.
      for (const f of scan.files) if (taken.get(f.hash)?.index === scan.index) taken.delete(f.hash);
      return d;
    }
    for (const { f } of staged) {
      if (f.findings && s.secrets === 'redact') d.findings.set(f.path, f.findings);
      if (s.dedup === 'near' && f.sig && (f.shingles ?? 0) >= MIN_SHINGLES) {
        const sig = Uint32Array.from(f.sig);
        fileLsh.add(sig, { index: scan.index, name: scan.name, path: f.path, sig });
      }
    }
    if (repoSig) repoLsh.add(repoSig, { index: scan.index, name: scan.name, sig: repoSig });
    return d;
  }
}

const enc = new TextEncoder();

/** A kept file's bytes after redaction (unchanged when it has no finding). */
export function applySecrets(bytes: Uint8Array, findings: SecretFinding[] | undefined): Uint8Array {
  if (!findings || findings.length === 0) return bytes;
  return enc.encode(redact(dec.decode(bytes), findings));
}

export function emptyHygiene(): SourceHygiene {
  return { duplicates: 0, nearDuplicates: 0, contaminated: 0, secretFiles: 0, secrets: {} };
}

/** Per-source figures from a decision. */
export function summarize(d: SourceDecision | undefined): SourceHygiene {
  const h = emptyHygiene();
  if (!d) return h;
  if (d.skipSource) h.skipped = { code: d.skipSource.code, reason: d.skipSource.reason };
  for (const s of d.drop.values()) {
    if (s.code === 'FILE_DUPLICATE') {
      if (s.reason.startsWith('near-duplicate')) h.nearDuplicates++;
      else h.duplicates++;
    } else if (s.code === 'FILE_CONTAMINATED') h.contaminated++;
    else if (s.code === 'FILE_SECRET') h.secretFiles++;
  }
  for (const f of d.findings.values()) {
    h.secretFiles++;
    for (const [k, n] of Object.entries(countByKind(f))) h.secrets[k] = (h.secrets[k] ?? 0) + n;
  }
  return h;
}

/** The manifest's `hygiene` pin: the resolved settings, the algorithm parameters and the totals. */
export function hygienePins(s: HygieneSettings, bench: BenchmarkIndex | undefined, per: SourceHygiene[]): Record<string, unknown> {
  const totals = { sourcesSkipped: {} as Record<string, number>, duplicates: 0, nearDuplicates: 0, contaminated: 0, secretFiles: 0, secrets: {} as Record<string, number> };
  for (const h of per) {
    if (h.skipped) totals.sourcesSkipped[h.skipped.code] = (totals.sourcesSkipped[h.skipped.code] ?? 0) + 1;
    totals.duplicates += h.duplicates;
    totals.nearDuplicates += h.nearDuplicates;
    totals.contaminated += h.contaminated;
    totals.secretFiles += h.secretFiles;
    for (const [k, n] of Object.entries(h.secrets)) totals.secrets[k] = (totals.secrets[k] ?? 0) + n;
  }
  return {
    dedup: s.dedup,
    near: s.dedup === 'near' ? { shingle: SHINGLE, permutations: PERMUTATIONS, bands: BANDS, rows: ROWS, threshold: THRESHOLD } : undefined,
    licenses: s.licenses,
    secrets: s.secrets,
    decontaminate: bench ? { benchmark: bench.hash, items: bench.items, ngram: bench.ngram } : undefined,
    totals,
  };
}
