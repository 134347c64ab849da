/**
 * Repository paths: posix, relative, normalized, ordered by a plain `<` compare (code-unit order,
 * which is byte order for all BMP text) so every source kind sorts identically and no locale
 * can change the order of a dataset.
 */
import { posix } from 'node:path';

export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Normalizes a path taken from an archive ('./a//b/' gives 'a/b', './' gives '' for the root), or
 * returns undefined if it is absolute or climbs out of the root. `a/../b` is rejected too: no
 * honest packer writes it.
 */
export function safeRelativePath(raw: string): string | undefined {
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return undefined;
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return undefined;
  return parts.join('/');
}

export type NodeKind = 'file' | 'dir' | 'symlink';

export type LinkResolution =
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'outside'; reason: string };

/** Linux gives up after 40 links (ELOOP); so do we. */
const MAX_LINK_HOPS = 40;

/**
 * Resolves a symlink inside a tree we only know by listing (a git tree, a tarball), component by
 * component like realpath(3): intermediate symlinks are followed, `..` may not leave the root,
 * absolute targets count as outside (the root's absolute location is unknown), and a dangling
 * or looping link is reported as outside too, since it cannot be read from the repository.
 */
export async function resolveLink(
  linkPath: string,
  kindOf: (path: string) => NodeKind | undefined,
  readLink: (path: string) => Promise<string>,
): Promise<LinkResolution> {
  const resolved: string[] = posix.dirname(linkPath) === '.' ? [] : posix.dirname(linkPath).split('/');
  let pending: string[] = [];
  let hops = 0;

  const follow = async (path: string): Promise<string | undefined> => {
    if (++hops > MAX_LINK_HOPS) return 'symlink loop';
    const target = await readLink(path);
    if (target.startsWith('/')) return `absolute target ${target}`;
    pending = [...target.split('/'), ...pending];
    return undefined;
  };

  const first = await follow(linkPath);
  if (first) return { kind: 'outside', reason: first };
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) return { kind: 'outside', reason: 'target leaves the repository root' };
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    const kind = kindOf(candidate);
    if (kind === 'symlink') {
      const problem = await follow(candidate);
      if (problem) return { kind: 'outside', reason: problem };
    } else if (kind === 'dir') {
      resolved.push(part);
    } else if (kind === 'file' && pending.every((p) => p === '' || p === '.')) {
      return { kind: 'file', path: candidate };
    } else {
      return { kind: 'outside', reason: `dangling target (${candidate} does not exist)` };
    }
  }
  return { kind: 'dir', path: resolved.join('/') };
}

/** Every directory implied by a list of file paths ('a/b/c' gives 'a' and 'a/b'). */
export function impliedDirs(paths: Iterable<string>): Set<string> {
  const dirs = new Set<string>();
  for (const path of paths) {
    for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) dirs.add(path.slice(0, i));
  }
  return dirs;
}
