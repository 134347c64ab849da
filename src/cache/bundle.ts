/**
 * A version's closure as one file, for machines that share no store: export pushes the closure
 * into a temporary shared-directory layout (cas/, ac/, roots/) and tars it; import untars into a
 * temporary folder and pulls every root found there. Imported data passes the same checks as a
 * pull: every blob is re-hashed, and records are checked against the signing settings.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RetraceError } from '../errors.ts';
import type { Cache } from './cache.ts';
import { RemoteCache, type Trust } from './remote-cache.ts';
import { DirStore } from './remote-dir.ts';
import { pullVersion, pushVersion, type TransferReport } from './transfer.ts';

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `retrace-bundle-${process.pid}-`));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Write `name/version`'s closure to `file` (gzip-compressed when it ends in .gz or .tgz). */
export async function exportVersion(local: Cache, name: string, version: string, file: string, trust: Trust): Promise<TransferReport & { file: string }> {
  return withTempDir(async (dir) => {
    const report = await pushVersion(local, new RemoteCache(new DirStore(dir), trust), name, version);
    // Written beside the target and renamed: the file is complete or absent.
    const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const tar = await import('tar');
      await tar.c({ file: tmp, cwd: dir, gzip: /\.(t?gz)$/i.test(file), portable: true }, ['cas', 'ac', 'roots']);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
    return { ...report, file };
  });
}

/** Load every version found in a bundle into the local cache. */
export async function importBundle(local: Cache, file: string, trust: Trust): Promise<TransferReport[]> {
  return withTempDir(async (dir) => {
    try {
      const tar = await import('tar');
      await tar.x({ file, cwd: dir, strict: true });
    } catch (err) {
      throw new RetraceError('CACHE_BUNDLE_INVALID', `cannot read the bundle: ${(err as Error).message}`, { item: file, hint: 'the file must come from `retrace cache export`', cause: err });
    }
    const store = new DirStore(dir);
    const remote = new RemoteCache(store, trust);
    const roots = (await store.list('roots')).map((f) => f.path.split('/')).filter((p) => p.length === 3 && p[2] !== 'latest');
    if (roots.length === 0) throw new RetraceError('CACHE_BUNDLE_INVALID', 'the bundle holds no version', { item: file, hint: 'the file must come from `retrace cache export`' });
    const reports: TransferReport[] = [];
    for (const [, name, id] of roots) reports.push(await pullVersion(remote, local, name, id));
    return reports;
  });
}
