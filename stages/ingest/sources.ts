/**
 * Reading a repository from any of the configured source kinds into one stream of filtered
 * text files in sorted path order. The three readers share the filter (filter.ts), the skip log
 * and the path rules, so the same content gives the same files whatever its packaging.
 */
import { resolve } from 'node:path';
import { openDir } from './dir.ts';
import { isRemoteGit, openGit } from './git.ts';
import { openTarball } from './tarball.ts';
import { DEFAULT_LIMITS, type FileLimits, type OpenedSource, type SourceSpec } from './types.ts';

export { isTextCandidate } from './filter.ts';
export { DEFAULT_LIMITS } from './types.ts';
export type { FileLimits, OpenedSource, SkippedFile, SourceFile, SourceIdentity, SourceSpec } from './types.ts';

/**
 * Opens a source. Missing paths throw SOURCE_NOT_FOUND, git failures SOURCE_GIT_FAILED, corrupt
 * archives SOURCE_TARBALL_INVALID; per-file problems never throw, they land in `skipped`.
 * A source with no acceptable file is not an error here: files() simply yields nothing.
 */
export async function openSource(spec: SourceSpec, baseDir: string, limits: FileLimits = DEFAULT_LIMITS, exclude: readonly string[] = []): Promise<OpenedSource> {
  if ('dir' in spec) return openDir(resolve(baseDir, spec.dir), spec.dir, limits, exclude);
  if ('git' in spec) {
    const location = isRemoteGit(spec.git) ? spec.git : resolve(baseDir, spec.git);
    return openGit(location, spec.git, spec.rev ?? 'HEAD', limits, spec.subdir);
  }
  return openTarball(resolve(baseDir, spec.tarball), spec.tarball, limits);
}
