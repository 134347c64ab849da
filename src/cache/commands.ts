/**
 * The engine side of `retrace cache verify|push|pull|export|import|gc` and `retrace dataset pin|unpin`:
 * each takes the folders and remote settings of a project and returns a report the CLI prints.
 * `cache.remote.mode` governs builds; these explicit commands use the remote even when builds
 * do not ('off'), but never write to a read-only one.
 */
import { resolve } from 'node:path';
import { projectDirs } from '../build/session.ts';
import type { RemoteCacheConfig } from '../config.ts';
import { findVersion, listVersions } from '../dataset.ts';
import { RetraceError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { initHash } from '../hash.ts';
import { exportVersion, importBundle } from './bundle.ts';
import { pinnedKeys, rootKey } from './closure.ts';
import type { LmdbCache, VerifyReport } from './lmdb-store.ts';
import { damageCount } from './verify-report.ts';
import { forgetUpToDate } from '../build/up-to-date.ts';
import { repairEnvironment, type RepairOutcome } from './salvage.ts';
import { pinPath, openRemote, trustFrom, type RemoteCache } from './remote-cache.ts';
import { gcRemote, type RemoteGcReport } from './remote-gc.ts';
import { readPins, setPinned } from './pins.ts';
import { pullVersion, pushVersion, type TransferReport } from './transfer.ts';

export interface CacheContext {
  cacheDir: string;
  outDir: string;
  /** Dataset name from the config, if there is one. */
  name?: string;
  remote?: RemoteCacheConfig;
}

/** Folders and remote settings; without a config file, default folders next to the cwd. */
export async function cacheContext(opts: { config: string; cacheDir?: string; outDir?: string }): Promise<CacheContext> {
  await initHash();
  const { cacheDir, outDir, loaded } = await projectDirs(opts);
  return { cacheDir, outDir, name: loaded?.config.name, remote: loaded?.config.cache?.remote };
}

/** The local environment (lmdb loads here, not with this module: a no-op build never needs it). */
async function openLocal(cacheDir: string): Promise<LmdbCache> {
  const { LmdbCache } = await import('./lmdb-store.ts');
  return LmdbCache.open(cacheDir);
}

async function withLocal<T>(ctx: CacheContext, fn: (local: LmdbCache) => Promise<T>): Promise<T> {
  const local = await openLocal(ctx.cacheDir);
  try {
    return await fn(local);
  } finally {
    await local.close();
  }
}

function remoteOf(ctx: CacheContext, write: boolean): RemoteCache {
  if (!ctx.remote) {
    throw new RetraceError('USAGE', 'no remote cache is configured', { hint: 'add cache.remote: { url } to the config (README "Sharing the cache"), or pass --config' });
  }
  if (write && ctx.remote.mode === 'read-only') {
    throw new RetraceError('REMOTE_READ_ONLY', 'the remote cache is configured read-only: this command would write to it', {
      item: redactUrl(ctx.remote.url),
      hint: "set cache.remote.mode to 'read-write' on a machine allowed to publish",
    });
  }
  return openRemote(ctx.remote);
}

/** A built version (`latest`, an id, a prefix or name/id) as name and id. */
function localVersion(ctx: CacheContext, ref: string): { name: string; id: string } {
  const v = findVersion(ctx.outDir, ref, ref.includes('/') ? undefined : ctx.name);
  return { name: v.name, id: v.version };
}

export async function cachePush(ctx: CacheContext, ref = 'latest'): Promise<TransferReport> {
  const { name, id } = localVersion(ctx, ref);
  const remote = remoteOf(ctx, true);
  return withLocal(ctx, (local) => pushVersion(local, remote, name, id));
}

/** `ref`: latest (the config's dataset), an id, name/id or name/latest; the version need not exist here. */
export async function cachePull(ctx: CacheContext, ref = 'latest'): Promise<TransferReport> {
  const [name, id] = ref.includes('/') ? ref.split('/', 2) : [ctx.name, ref];
  if (!name) throw new RetraceError('USAGE', `cannot tell which dataset "${ref}" belongs to`, { item: ref, hint: 'pass name/version, or run with the project config' });
  const remote = remoteOf(ctx, false);
  return withLocal(ctx, (local) => pullVersion(remote, local, name, id));
}

export async function cacheExport(ctx: CacheContext, file: string, ref = 'latest'): Promise<TransferReport & { file: string }> {
  const { name, id } = localVersion(ctx, ref);
  return withLocal(ctx, (local) => exportVersion(local, name, id, resolve(file), trustFrom(ctx.remote)));
}

export async function cacheImport(ctx: CacheContext, file: string): Promise<TransferReport[]> {
  return withLocal(ctx, (local) => importBundle(local, resolve(file), trustFrom(ctx.remote)));
}

/** name/id of the version `latest` points at in each dataset, when it is complete. */
function latestComplete(outDir: string): string[] {
  return listVersions(outDir).filter((v) => v.latest && !v.partial).map((v) => `${v.name}/${v.version}`);
}

export interface GcReport {
  actionsRemoved: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Builds running on this cache during gc, and the records/blobs kept because they may use them. */
  liveBuilds: number;
  keptForBuilds: number;
  pinned: string[];
  /** Issue 16: the latest complete versions (name/id) kept besides the pins. */
  latest: string[];
  /** Issue 16: nothing was removed; the figures say what would be. */
  dryRun: boolean;
  /** Pins whose root this cache does not hold: nothing of theirs could be kept. */
  unknownPins: string[];
  remote?: RemoteGcReport;
}

export async function cacheGc(ctx: CacheContext, opts: { maxAgeMs?: number; maxBytes?: number; remote?: boolean; dryRun?: boolean; keepLatest?: boolean }): Promise<GcReport> {
  const pins = readPins(ctx.cacheDir);
  // Issue 16: the latest complete version of each dataset is kept like a pinned one unless told otherwise.
  const latest = opts.keepLatest === false ? [] : latestComplete(ctx.outDir).filter((v) => !pins.includes(v));
  if (opts.remote && opts.dryRun) throw new RetraceError('USAGE', '--dry-run covers the local cache only', { hint: 'run `retrace cache gc --dry-run` without --remote' });
  const remote = opts.remote ? remoteOf(ctx, true) : undefined;
  const local = await withLocal(ctx, async (cache) => {
    const { keep, unknown } = await pinnedKeys(cache, [...pins, ...latest]);
    const r = await cache.gc({ maxAgeMs: opts.maxAgeMs, maxBytes: opts.maxBytes, keep, dryRun: opts.dryRun });
    // Results went: the next build of each project checks the cache instead of answering "up to date".
    if (!opts.dryRun && (r.actionsRemoved > 0 || r.blobsRemoved > 0)) forgetUpToDate(ctx.cacheDir);
    return { ...r, dryRun: opts.dryRun === true, pinned: pins, latest: latest.filter((v) => !unknown.includes(v)), unknownPins: unknown.filter((v) => pins.includes(v)) };
  });
  return remote ? { ...local, remote: await gcRemote(remote, { ...opts, localPins: pins }) } : local;
}

export interface PinReport {
  version: string;
  pinned: boolean;
  changed: boolean;
  /** Whether this cache holds the version's root (a pin without it protects nothing here). */
  known: boolean;
  /** Whether the pin was also set on the remote (read-write remotes only). */
  remote: boolean;
}

export async function datasetPin(ctx: CacheContext, ref: string, pinned: boolean): Promise<PinReport> {
  const { name, id } = localVersion(ctx, ref);
  const version = `${name}/${id}`;
  const changed = setPinned(ctx.cacheDir, version, pinned);
  const known = await withLocal(ctx, async (local) => (await local.getAction(rootKey(name, id))) !== undefined);
  let onRemote = false;
  if (ctx.remote && (ctx.remote.mode ?? 'read-write') === 'read-write') {
    const remote = openRemote(ctx.remote);
    if (pinned) await remote.store.put(pinPath(name, id), new TextEncoder().encode(version));
    else await remote.store.delete(pinPath(name, id));
    onRemote = true;
  }
  return { version, pinned, changed, known, remote: onRemote };
}

export interface VerifyOutcome {
  cacheDir: string;
  ok: boolean;
  /** Damage found (entries, or 1 for a damaged environment) before any repair. */
  damaged: number;
  report?: VerifyReport;
  /** The environment could not be opened or walked: only a salvage repairs it. */
  environment?: string;
  /** With --repair: what was done, and the check of the repaired cache. */
  repaired?: { entries: number; environment?: RepairOutcome; after: VerifyReport };
}

async function verifyOnce(cacheDir: string): Promise<{ report?: VerifyReport; environment?: string }> {
  let cache: LmdbCache;
  try {
    cache = await openLocal(cacheDir);
  } catch (err) {
    if (err instanceof RetraceError && err.code === 'CACHE_DAMAGED') return { environment: err.message };
    throw err;
  }
  try {
    const report = await cache.verify();
    return { report, environment: report.environment };
  } finally {
    await cache.close().catch(() => undefined);
  }
}

/**
 * `retrace cache verify [--repair]`: every entry checked (lmdb-store.ts verify). With --repair,
 * damaged entries are removed (the next build recomputes them), and a damaged environment is
 * salvaged into a fresh one or, when nothing can be read, moved aside for a fresh start.
 */
export async function cacheVerify(cacheDir: string, opts: { repair?: boolean } = {}): Promise<VerifyOutcome> {
  const first = await verifyOnce(cacheDir);
  const damaged = first.environment ? 1 + (first.report ? damageCount(first.report) - 1 : 0) : damageCount(first.report!);
  const out: VerifyOutcome = { cacheDir, ok: damaged === 0, damaged, report: first.report, environment: first.environment };
  if (damaged === 0 || !opts.repair) return out;
  let environment: RepairOutcome | undefined;
  let entries = 0;
  if (first.environment) {
    environment = await repairEnvironment(cacheDir);
  } else {
    const cache = await openLocal(cacheDir);
    try {
      forgetUpToDate(cacheDir); // results go: the next build checks the cache
      await cache.repair(first.report!);
      entries = damageCount(first.report!);
    } finally {
      await cache.close();
    }
  }
  const after = await verifyOnce(cacheDir);
  if (!after.report) throw new RetraceError('CACHE_DAMAGED', `the cache is still damaged after the repair: ${after.environment}`, { item: cacheDir, hint: 'move the cache folder aside by hand and build again' });
  out.repaired = { entries, environment, after: after.report };
  out.ok = damageCount(after.report) === 0;
  return out;
}

/** Hidden `retrace cache salvage-into FROM TO`: the child process of a repair (salvage.ts). */
export { salvageChild } from './salvage.ts';
