/**
 * The engine side of `retrace cache push|pull|export|import|gc` and `retrace dataset pin|unpin`:
 * each takes the folders and remote settings of a project and returns a report the CLI prints.
 * `cache.remote.mode` governs builds; these explicit commands use the remote even when builds
 * do not ('off'), but never write to a read-only one.
 */
import { resolve } from 'node:path';
import { resolveDirs } from '../build.ts';
import { loadConfig, type RemoteCacheConfig } from '../config.ts';
import { findVersion } from '../dataset.ts';
import { RetraceError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { initHash } from '../hash.ts';
import { exportVersion, importBundle } from './bundle.ts';
import { pinnedKeys, rootKey } from './closure.ts';
import { LmdbCache } from './lmdb-store.ts';
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
  const loaded = await loadConfig(opts.config).catch((err) => {
    if (err instanceof RetraceError && err.code === 'CONFIG_NOT_FOUND') return undefined;
    throw err;
  });
  if (!loaded) return { cacheDir: resolve(opts.cacheDir ?? 'cache'), outDir: resolve(opts.outDir ?? 'datasets') };
  return { ...resolveDirs(loaded, opts), name: loaded.config.name, remote: loaded.config.cache?.remote };
}

async function withLocal<T>(ctx: CacheContext, fn: (local: LmdbCache) => Promise<T>): Promise<T> {
  const local = LmdbCache.open(ctx.cacheDir);
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

export interface GcReport {
  actionsRemoved: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Builds running on this cache during gc, and the records/blobs kept because they may use them. */
  liveBuilds: number;
  keptForBuilds: number;
  pinned: string[];
  /** Pins whose root this cache does not hold: nothing of theirs could be kept. */
  unknownPins: string[];
  remote?: RemoteGcReport;
}

export async function cacheGc(ctx: CacheContext, opts: { maxAgeMs?: number; maxBytes?: number; remote?: boolean }): Promise<GcReport> {
  const pins = readPins(ctx.cacheDir);
  const remote = opts.remote ? remoteOf(ctx, true) : undefined;
  const local = await withLocal(ctx, async (cache) => {
    const { keep, unknown } = await pinnedKeys(cache, pins);
    return { ...(await cache.gc({ maxAgeMs: opts.maxAgeMs, maxBytes: opts.maxBytes, keep })), pinned: pins, unknownPins: unknown };
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
