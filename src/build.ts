/**
 * One build, start to finish: load the config, open the cache and the worker pool, run the
 * pipeline through the executor, write the dataset version, and summarise. Also `status`, which
 * runs the same pipeline answering only from the cache.
 */
import { sweepStale } from './temp.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { newStamp, stampPath, stampTree } from './stamp.ts';
import { loadConfig, type LoadedConfig } from './config.ts';
import { RetraceError } from './errors.ts';
import { Executor, StaleItem, type Failure, type StageStats } from './executor.ts';
import { hashText, initHash, type ActionKey } from './hash.ts';
import { actionKey, canonicalJson, type KeyParts } from './key.ts';
import { LmdbCache } from './cache/lmdb-store.ts';
import type { Cache } from './cache/cache.ts';
import { recordRoot } from './cache/closure.ts';
import { withRemote, type TieredCache } from './cache/tiered.ts';
import { pointLatest, shardsPresent, writeVersion, type Manifest } from './dataset.ts';
import type { Pipeline, PipelineOutput, PipelineRun } from './pipeline.ts';
import { PiscinaPool, type TaskPool } from './pool.ts';
import type { Reporter } from './reporter.ts';

export interface BuildOptions {
  config: string;
  /** Default: cache.dir from the config, else <config dir>/cache. */
  cacheDir?: string;
  /** Default: <config dir>/datasets. */
  outDir?: string;
  workers?: number;
  reporter: Reporter;
  /** Skip the up-to-date fast path: re-read and re-hash every input and re-check the written shards' SHA-256. */
  recheck?: boolean;
  /** Scale-out: build only this partition of the sources and record its completion marker. */
  partition?: { index: number; count: number };
}

export interface BuildSummary {
  name: string;
  version: string;
  path: string;
  documents: number;
  tokens: number;
  shards: number;
  stages: Record<string, { items: number; cached: number; computed: number; unchanged: number; failed: number; ms: number }>;
  llm: PipelineOutput['llm'];
  failures: Failure[];
  ms: number;
  cacheDir: string;
  [k: string]: unknown;
}

export function resolveDirs(loaded: LoadedConfig, opts: { cacheDir?: string; outDir?: string }): { cacheDir: string; outDir: string } {
  return {
    cacheDir: resolve(opts.cacheDir ?? (loaded.config.cache?.dir ? resolve(loaded.dir, loaded.config.cache.dir) : join(loaded.dir, 'cache'))),
    outDir: resolve(opts.outDir ?? join(loaded.dir, 'datasets')),
  };
}

interface Session {
  loaded: LoadedConfig;
  /** The cache builds use: the local tier, or tiered with the configured remote. */
  cache: Cache;
  local: LmdbCache;
  remote?: TieredCache;
  pool: TaskPool;
  exec: Executor;
  run: PipelineRun;
  cacheDir: string;
  outDir: string;
  close(): Promise<void>;
}

async function openSession(opts: BuildOptions, mode: 'build' | 'status'): Promise<Session> {
  await initHash();
  const loaded = await loadConfig(opts.config);
  const { cacheDir, outDir } = resolveDirs(loaded, opts);
  const local = LmdbCache.open(cacheDir);
  // A running build holds a lease: gc keeps what it uses, and its LLM calls are claimed.
  if (mode === 'build') {
    await local.startBuildLease();
    // What killed builds left behind: half-written versions, shard and bundle temp folders.
    sweepStale(join(outDir, loaded.config.name), ['.tmp-', '.latest-']);
    sweepStale(tmpdir(), ['retrace-shard-', 'retrace-bundle-']);
  }
  const { cache, tiered } = withRemote(local, loaded.config.cache?.remote, opts.reporter, loaded.config.name);
  const pool = new PiscinaPool(opts.workers ?? loaded.config.workers);
  const controller = new AbortController();
  const exec = new Executor({ cache, pool, reporter: opts.reporter, salt: loaded.config.cache?.salt, mode, signal: controller.signal });
  const run: PipelineRun = {
    loaded,
    exec,
    pool,
    reporter: opts.reporter,
    mode,
    signal: controller.signal,
    abort: (reason) => controller.abort(new RetraceError('LLM_BUDGET_EXHAUSTED', reason)),
    estimates: {},
    writes: [cacheDir, outDir],
    blobs: {
      put: (b) => cache.putBlob(b),
      get: async (h) => {
        const b = await cache.getBlob(h);
        if (!b) throw new RetraceError('CACHE_CORRUPT', `blob ${h} is missing or damaged`, { hint: 'run `retrace cache verify --repair`, then build again' });
        return b;
      },
    },
  };
  return {
    loaded, cache, local, remote: tiered, pool, exec, run, cacheDir, outDir,
    close: async () => {
      opts.reporter.done();
      await pool.close();
      await cache.close();
    },
  };
}

/** What every build summary reports about the run itself. */
function runFields(s: Session, pipeline: Pipeline, t0: number) {
  return {
    stages: stageTable(s.exec, pipeline),
    failures: sortedFailures(s.exec),
    ms: Math.round(performance.now() - t0),
    cacheDir: s.cacheDir,
    ...(s.remote ? { remote: s.remote.summary() } : {}),
  };
}

/** Failures in a stable order (items finish in any order when repositories build concurrently). */
function sortedFailures(exec: Executor): Failure[] {
  return [...exec.failures].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
}

function stageTable(exec: Executor, pipeline: Pipeline): BuildSummary['stages'] {
  const out: BuildSummary['stages'] = {};
  for (const s of pipeline.stages) {
    const st: StageStats = exec.statsFor(s.name);
    out[s.name] = { items: st.items, cached: st.cached, computed: st.computed, unchanged: st.unchanged, failed: st.failed, ms: Math.round(st.ms) };
  }
  return out;
}

export async function runBuild(pipeline: Pipeline, opts: BuildOptions): Promise<BuildSummary> {
  const t0 = performance.now();
  const s = await openSession(opts, 'build');
  try {
    const noop = upToDateKey(s, pipeline);
    const previous = noop && !opts.recheck && (await upToDateSummary(s, noop.key));
    if (previous) return { ...previous, ms: Math.round(performance.now() - t0) };
    const out = await pipeline.run(s.run);
    const summary = await finishVersion(s, pipeline, opts, out, t0);
    if (noop && summary.failures.length === 0) await rememberUpToDate(s, noop, summary);
    return summary;
  } finally {
    await s.close();
  }
}

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The no-op fast path. A build whose inputs (the pipeline's stat stamp of sources and prompts),
 * code (a stat stamp of this project's src/, stages/, bin/ and lockfile), config and output
 * folder are all exactly as at the end of the last successful build on this machine would
 * compute nothing: its summary is answered from that build, after checking that the version is
 * still on disk. Stamps are machine-local, so the record stays in the local tier. Any difference
 * (a touched file, an edited prompt, another --out) takes the normal, content-addressed path.
 */
function upToDateKey(s: Session, pipeline: Pipeline): { key: ActionKey; parts: KeyParts } | undefined {
  if (s.loaded.config.cache?.remote && s.loaded.config.cache.remote.mode !== 'off') return undefined; // other machines may have moved the shared state
  const inputs = pipeline.inputStamp?.(s.run);
  if (!inputs) return undefined;
  const code = newStamp();
  try {
    for (const dir of ['src', 'stages', 'bin']) stampTree(code, join(PROJECT_ROOT, dir));
    stampPath(code, join(PROJECT_ROOT, 'package-lock.json'));
  } catch {
    return undefined;
  }
  const parts: KeyParts = {
    stage: 'up-to-date',
    version: '1',
    inputs: { inputs, code: code.digest('hex'), config: hashText(canonicalJson(s.loaded.config)) },
    settings: { out: s.outDir, configPath: s.loaded.path },
  };
  return { key: actionKey(parts), parts };
}

async function upToDateSummary(s: Session, key: ActionKey): Promise<BuildSummary | undefined> {
  const rec = await s.local.getAction(key);
  const bytes = rec && (await s.local.getBlob(rec.output));
  if (!bytes) return undefined;
  const last = JSON.parse(new TextDecoder().decode(bytes)) as BuildSummary;
  // The version must still be whole on disk (cheap: sizes only); otherwise a real build repairs it.
  const mf = join(last.path, 'manifest.json');
  if (!existsSync(mf) || !shardsPresent(last.path, JSON.parse(readFileSync(mf, 'utf8')) as Manifest)) return undefined;
  pointLatest(dirname(last.path), last.version);
  const stages: BuildSummary['stages'] = {};
  for (const [name, st] of Object.entries(last.stages)) stages[name] = { items: st.items, cached: st.items, computed: 0, unchanged: 0, failed: 0, ms: 0 };
  const llm = last.llm as PipelineOutput['llm'] & { calls?: number };
  // Only the totals: per-agent breakdowns describe the earlier build's work, not this one's.
  const flat = Object.fromEntries(Object.entries(llm).filter(([, v]) => typeof v !== 'object'));
  return {
    ...last,
    stages,
    llm: { ...flat, requests: 0, cached: llm.calls ?? llm.cached + llm.requests, promptTokens: 0, completionTokens: 0 },
    failures: [],
    upToDate: true,
  };
}

async function rememberUpToDate(s: Session, noop: { key: ActionKey; parts: KeyParts }, summary: BuildSummary): Promise<void> {
  const output = await s.local.putBlob(new TextEncoder().encode(JSON.stringify(summary)));
  const now = Date.now();
  await s.local.putAction(noop.key, { format: 1, stage: 'up-to-date', item: s.loaded.config.name, output, refs: [], parts: noop.parts, ms: summary.ms, createdAt: now, usedAt: now });
}

/** Write the version a pipeline produced, record its closure, and summarise. */
async function finishVersion(s: Session, pipeline: Pipeline, opts: BuildOptions, out: PipelineOutput, t0: number): Promise<BuildSummary> {
  if (out.shards.length === 0) {
    throw new RetraceError('SOURCE_EMPTY', 'the build produced no documents: every source failed or was empty', {
      item: s.loaded.path,
      hint: 'see the errors above; check the sources in the config',
    });
  }
  opts.reporter.emit({ type: 'phase', name: 'writing dataset' });
  const body = { manifestVersion: 1 as const, name: s.loaded.config.name, shards: out.shards.map(({ blob: _b, ...rest }) => rest), ...out.pins };
  const blobOf = new Map(out.shards.map((sh) => [sh.file, sh.blob]));
  const written = await writeVersion(s.outDir, body, (file) => s.run.blobs.get(blobOf.get(file)!), { verifyExisting: opts.recheck });
  for (const file of written.repaired) opts.reporter.emit({ type: 'warn', code: 'DATASET_REPAIRED', item: join(written.path, file), message: 'was missing or damaged; written again from the cache' });
  // What `cache push/pull/export` and gc of pinned versions walk from (local tier only).
  await recordRoot(s.local, s.loaded.config.name, written.manifest.version, s.exec.usedKeys);
  await s.remote?.flush();
  return {
    name: s.loaded.config.name,
    version: written.manifest.version,
    path: written.path,
    documents: out.documents,
    tokens: out.tokens,
    shards: out.shards.length,
    llm: out.llm,
    ...runFields(s, pipeline, t0),
    ...out.extra,
  };
}

/**
 * The completion marker of partition `index` of `count`: an action record keyed by the config
 * (less where it keeps its cache and how many threads it uses, which cannot change a result),
 * so every machine running the same config finds the same markers in the shared cache.
 */
function partitionKey(loaded: LoadedConfig, index: number, count: number): { key: ActionKey; parts: KeyParts } {
  const { cache: _c, workers: _w, ...config } = loaded.config;
  const parts: KeyParts = { stage: 'partition', version: '1', inputs: { config: hashText(canonicalJson(config)) }, settings: { index, count } };
  return { key: actionKey(parts), parts };
}

export interface PartitionSummary {
  name: string;
  partition: { index: number; count: number };
  /** Sources this partition owns, and the documents it built. */
  sources: number;
  documents: number;
  stages: BuildSummary['stages'];
  llm: PipelineOutput['llm'];
  failures: Failure[];
  ms: number;
  cacheDir: string;
  [k: string]: unknown;
}

/** Scale-out worker: build one partition of the sources and leave its completion marker. */
export async function runPartition(pipeline: Pipeline, opts: BuildOptions & { partition: { index: number; count: number } }): Promise<PartitionSummary> {
  const t0 = performance.now();
  if (!pipeline.runPartition) throw new RetraceError('USAGE', 'this pipeline cannot be partitioned');
  const { index, count } = opts.partition;
  const s = await openSession(opts, 'build');
  try {
    const r = await pipeline.runPartition(s.run, { index, count });
    const { key, parts } = partitionKey(s.loaded, index, count);
    const output = await s.cache.putBlob(new TextEncoder().encode(JSON.stringify(r.result)));
    const now = Date.now();
    await s.cache.putAction(key, { format: 1, stage: 'partition', item: `partition ${index}/${count}`, output, refs: [], parts, ms: Math.round(performance.now() - t0), createdAt: now, usedAt: now });
    await recordRoot(s.local, `${s.loaded.config.name}.partition-${index}-of-${count}`, hashText(key).slice(0, 16), s.exec.usedKeys);
    await s.remote?.flush();
    return {
      name: s.loaded.config.name,
      partition: { index, count },
      sources: r.sources,
      documents: r.documents,
      llm: r.llm,
      ...runFields(s, pipeline, t0),
    };
  } finally {
    await s.close();
  }
}

/** Assemble the version from every partition's marker; says which partitions are missing. */
export async function runMerge(pipeline: Pipeline, opts: BuildOptions & { count: number }): Promise<BuildSummary> {
  const t0 = performance.now();
  if (!pipeline.merge) throw new RetraceError('USAGE', 'this pipeline cannot merge partitions');
  const s = await openSession(opts, 'build');
  try {
    const results: unknown[] = [];
    const missing: number[] = [];
    for (let index = 0; index < opts.count; index++) {
      const rec = await s.cache.getAction(partitionKey(s.loaded, index, opts.count).key);
      const bytes = rec ? await s.cache.getBlob(rec.output) : undefined;
      if (!bytes) missing.push(index);
      else results.push(JSON.parse(new TextDecoder().decode(bytes)));
    }
    if (missing.length > 0) {
      throw new RetraceError('PARTITIONS_INCOMPLETE', `${missing.length} of ${opts.count} partitions have not completed: ${missing.join(', ')}`, {
        item: s.loaded.path,
        hint: `run \`retrace build --shard I/${opts.count}\` for I in ${missing.join(', ')} with this config and the same shared cache, then merge again`,
      });
    }
    const out = await pipeline.merge(s.run, results);
    return await finishVersion(s, pipeline, opts, out, t0);
  } finally {
    await s.close();
  }
}

export interface StatusReport {
  upToDate: boolean;
  stages: Record<string, { cached: number; stale: number }>;
  stale: Array<{ stage: string; item: string; reason: string[] | 'new' }>;
  llm?: PipelineOutput['llm'];
  /** What the pipeline estimates a build would spend (e.g. llmCalls: an upper bound). */
  estimates: Record<string, number>;
  cacheDir: string;
}

/** What a build would do now: items answered from the cache, and the first stale items with why. */
export async function runStatus(pipeline: Pipeline, opts: BuildOptions): Promise<StatusReport> {
  const s = await openSession(opts, 'status');
  try {
    let out: PipelineOutput | undefined;
    try {
      out = await pipeline.run(s.run);
    } catch (err) {
      if (!(err instanceof StaleItem)) throw err;
    }
    const stages: StatusReport['stages'] = {};
    for (const st of pipeline.stages) stages[st.name] = { cached: s.exec.statsFor(st.name).cached, stale: 0 };
    for (const x of s.exec.stale) (stages[x.stage] ??= { cached: 0, stale: 0 }).stale++;
    return {
      upToDate: s.exec.stale.length === 0,
      stages,
      stale: s.exec.stale.map((x) => ({
        stage: x.stage,
        item: x.item,
        reason: x.changes === 'new' ? 'new' : x.changes.map((c) => `${c.field}: ${short(c.before)} -> ${short(c.after)}`),
      })),
      llm: out?.llm,
      estimates: s.run.estimates,
      cacheDir: s.cacheDir,
    };
  } finally {
    await s.close();
  }
}

function short(v: unknown): string {
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t === undefined ? '(none)' : t.length > 60 ? t.slice(0, 57) + '...' : t;
}

export { openSession };
