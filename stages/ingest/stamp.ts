/**
 * A source's stat stamp (src/stamp.ts), or undefined where none is cheap and safe: a directory
 * is stamped by its tree (less .git and vendored folders, which the reader skips), a local git
 * source by the commit its revision resolves to, a tarball by the archive's stat. A remote git
 * URL has no stamp: the revision may move on the server.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash, type Hash } from 'node:crypto';
import { lazy } from '../../src/lazy.ts';
import { stampPath, stampTree } from '../../src/stamp.ts';

const childProcess = lazy<typeof import('node:child_process')>('node:child_process');
import { VENDORED_DIRS } from './filter.ts';
import { isRemoteGit } from './git.ts';
import type { SourceSpec } from './types.ts';

export function stampSource(h: Hash, spec: SourceSpec, baseDir: string, exclude: readonly string[] = []): boolean {
  try {
    if ('dir' in spec) {
      const root = resolve(baseDir, spec.dir);
      stampTree(h, root, (name, abs) => VENDORED_DIRS.has(name) || exclude.includes(abs));
      // The reader honours .git/info/exclude too, which the tree's walk (skipping .git) never sees.
      const gitExclude = join(root, '.git', 'info', 'exclude');
      if (existsSync(gitExclude)) stampPath(h, gitExclude, '.git/info/exclude');
    } else if ('git' in spec) {
      if (isRemoteGit(spec.git)) return false;
      const commit = childProcess().execFileSync('git', ['rev-parse', '--verify', '--end-of-options', `${spec.rev ?? 'HEAD'}^{commit}`], {
        cwd: resolve(baseDir, spec.git),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      h.update(`git\0${commit}\n`);
    } else {
      stampPath(h, resolve(baseDir, spec.tarball));
    }
    return true;
  } catch {
    return false; // missing or unreadable: the build itself reports it
  }
}

/** Per-build memo of each source's stamp digest (the up-to-date check and the hygiene memo share one stat walk). */
const taken = new WeakMap<object, Map<number, string | undefined>>();

/**
 * The stamp digest of `sources[index]`, taken once per `owner` (a build's loaded config, which
 * the up-to-date check, taken before the session opens, shares with the build's run): undefined where
 * stampSource has none. Taken at the build's start, before any file is read, so a file changed
 * meanwhile is read as changed and stamped as changed by the next build.
 */
export function sourceStampOf(owner: object, index: number, spec: SourceSpec, baseDir: string, exclude: readonly string[] = []): string | undefined {
  let byIndex = taken.get(owner);
  if (!byIndex) taken.set(owner, (byIndex = new Map()));
  if (!byIndex.has(index)) {
    const h = createHash('sha256');
    byIndex.set(index, stampSource(h, spec, baseDir, exclude) ? h.digest('hex') : undefined);
  }
  return byIndex.get(index);
}
