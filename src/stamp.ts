/**
 * Stat stamps: a cheap fingerprint of a folder tree from each entry's path, size, mtime, ctime,
 * inode and mode (what git's index and make rely on), read without opening any file. Used only
 * to skip a build whose every input is unchanged since the last successful one (see build.ts):
 * the content-addressed keys stay the source of truth whenever anything differs.
 */
import { createHash, type Hash } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Add a tree's stamp to `h`; `skip(name, path)` prunes folders (e.g. .git, node_modules). */
export function stampTree(h: Hash, root: string, skip: (name: string, path: string) => boolean = () => false): void {
  const walk = (dir: string, rel: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const abs = join(dir, e.name);
      if (e.isDirectory() && skip(e.name, abs)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      stampPath(h, abs, r);
      if (e.isDirectory()) walk(abs, r);
    }
  };
  stampPath(h, root, '.');
  walk(root, '');
}

export function stampPath(h: Hash, abs: string, label = abs): void {
  const s = lstatSync(abs, { bigint: true });
  h.update(`${label}\0${s.size}\0${s.mtimeNs}\0${s.ctimeNs}\0${s.ino}\0${s.mode}\n`);
}

export function newStamp(): Hash {
  return createHash('sha256');
}
