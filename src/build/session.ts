/**
 * A build session: the loaded config, the cache (local LMDB tier, plus the remote when
 * configured), the worker pool, the executor and the run handed to the pipeline. Every engine
 * command that runs a pipeline (build, partition, merge, status) opens one and closes it.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENGINE_ONLY, loadConfig, type EngineConfig, type LoadedConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import { Executor } from '../executor.ts';
import { initHash } from '../hash.ts';
import type { LmdbCache } from '../cache/lmdb-store.ts';
import { healAfterBuild, openLocalForBuild } from '../cache/salvage.ts';
import type { Cache } from '../cache/cache.ts';
import { withRemote, type TieredCache } from '../cache/tiered.ts';
import type { Pipeline, PipelineRun } from '../pipeline.ts';
import { PiscinaPool, type TaskPool } from '../pool.ts';
import { sweepStale } from '../temp.ts';
import type { Reporter } from '../reporter.ts';
import { codeStamp } from './code-stamp.ts';

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
  /** Repair a damaged local cache environment before building (`build --repair-cache`). */
  repairCache?: boolean;
  /** Issue 16: fail (exit 1) without writing a version when any item failed. */
  strict?: boolean;
  /** Issue 16: move `latest` to the version even when it is partial (some items failed). */
  latestPartial?: boolean;
  /** A pool kept between builds (`build --watch`): used instead of starting one, and not closed with the session. */
  pool?: TaskPool;
}

/** The cache and datasets folders of a project: flags first, then the config, then defaults beside it. */
export function resolveDirs(loaded: LoadedConfig, opts: { cacheDir?: string; outDir?: string }): { cacheDir: string; outDir: string } {
  return {
    cacheDir: resolve(opts.cacheDir ?? (loaded.config.cache?.dir ? resolve(loaded.dir, loaded.config.cache.dir) : join(loaded.dir, 'cache'))),
    outDir: resolve(opts.outDir ?? join(loaded.dir, 'datasets')),
  };
}

/**
 * The folders (and engine config, when there is a config file) of commands that need no
 * pipeline: cache and dataset maintenance. Without a config file: default folders next to the
 * working directory.
 */
export async function projectDirs(opts: { config: string; cacheDir?: string; outDir?: string }): Promise<{ cacheDir: string; outDir: string; loaded?: LoadedConfig }> {
  const loaded = await loadConfig(opts.config, ENGINE_ONLY).catch((err) => {
    if (err instanceof RetraceError && err.code === 'CONFIG_NOT_FOUND') return undefined;
    throw err;
  });
  if (!loaded) return { cacheDir: resolve(opts.cacheDir ?? 'cache'), outDir: resolve(opts.outDir ?? 'datasets') };
  return { ...resolveDirs(loaded, opts), loaded };
}

export interface Session<C extends EngineConfig> {
  loaded: LoadedConfig<C>;
  /** The cache builds use: the local tier, or tiered with the configured remote. */
  cache: Cache;
  local: LmdbCache;
  remote?: TieredCache;
  pool: TaskPool;
  exec: Executor;
  run: PipelineRun<C>;
  cacheDir: string;
  outDir: string;
  close(): Promise<void>;
}

/** `preloaded`: the config already loaded by the caller (the build's up-to-date check), shared with the run. */
export async function openSession<C extends EngineConfig>(pipeline: Pipeline<C>, opts: BuildOptions, mode: 'build' | 'status', preloaded?: LoadedConfig<C>): Promise<Session<C>> {
  await initHash();
  const loaded = preloaded ?? (await loadConfig(opts.config, pipeline.config));
  const { cacheDir, outDir } = resolveDirs(loaded, opts);
  const local = await openLocalForBuild(cacheDir, opts.reporter, opts.repairCache);
  // A running build holds a lease: gc keeps what it uses, and its LLM calls are claimed.
  if (mode === 'build') {
    await local.startBuildLease();
    // What killed builds left behind: half-written versions, shard and bundle temp folders.
    sweepStale(join(outDir, loaded.config.name), ['.tmp-', '.latest-']);
    sweepStale(tmpdir(), ['retrace-shard-', 'retrace-bundle-']);
  }
  const { cache, tiered } = withRemote(local, loaded.config.cache?.remote, opts.reporter, loaded.config.name);
  // And one on the remote: remote gc keeps what it uploads, builds elsewhere see its claims.
  if (mode === 'build' && tiered) await tiered.startLease(local.claims?.id ?? `${process.pid}-${Date.now().toString(36)}`);
  const pool = opts.pool ?? new PiscinaPool(opts.workers ?? loaded.config.workers);
  const controller = new AbortController();
  const exec = new Executor({ cache, pool, reporter: opts.reporter, salt: loaded.config.cache?.salt, mode, signal: controller.signal, dropAction: (k, why, at) => void local.dropAction(k, why, at) });
  const run: PipelineRun<C> = {
    loaded,
    exec,
    pool,
    reporter: opts.reporter,
    mode,
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    estimates: {},
    writes: [cacheDir, outDir],
    outDir,
    recheck: opts.recheck === true,
    codeStamp: () => codeStamp(pipeline),
    blobs: {
      put: (b) => cache.putBlob(b),
      get: async (h) => {
        const b = await cache.getBlob(h);
        if (!b) throw new RetraceError('CACHE_BLOB_MISSING', `blob ${h} is missing or damaged`, { hint: 'run `retrace cache verify --repair`, then build again' });
        return b;
      },
    },
  };
  return {
    loaded, cache, local, remote: tiered, pool, exec, run, cacheDir, outDir,
    close: async () => {
      if (pool !== opts.pool) await pool.close();
      await cache.close();
      await healAfterBuild(local, cacheDir, opts.reporter);
      opts.reporter.done();
    },
  };
}
