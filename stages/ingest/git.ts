/**
 * A git repository at a pinned commit as a source. The tree of that commit is read from the
 * object database (ls-tree, cat-file), never the work tree, so uncommitted edits cannot leak into
 * a dataset and the same commit always gives the same files.
 *
 * Local paths are used in place; anything else (https://, ssh://, file://, user@host:path) is
 * cloned bare into a cache under os.tmpdir() once, and fetched again only when the revision is
 * not a full SHA already present (branch names and HEAD move).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { RetraceError } from '../../src/errors.ts';
import { hashText, initHash } from '../../src/hash.ts';
import { vendoredDir } from './filter.ts';
import { CatFile, git } from './git-cli.ts';
import { comparePaths, impliedDirs, resolveLink, type NodeKind } from './paths.ts';
import { checkedFile, SkipLog } from './skips.ts';
import type { FileLimits, OpenedSource, SourceFile } from './types.ts';

interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  size: number;
  path: string;
  /** The path as git stored it is not UTF-8; `path` is a lossy rendering for the skip report. */
  badName?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `https://…`, `ssh://…`, `file://…` or scp-like `user@host:path`. */
export function isRemoteGit(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || /^[^/\s]+@[^/\s]+:/.test(location);
}

/** `repo` for /x/repo, /x/repo.git, /x/repo/.git and https://host/o/repo.git. */
export function gitRepoName(location: string): string {
  const parts = location.replace(/[/\\]+$/, '').split(/[/\\:]/);
  let last = parts.pop() ?? '';
  if (last === '.git') last = parts.pop() ?? '';
  return last.replace(/\.git$/, '') || 'repository';
}

/**
 * `subdir` (issue 16): only that folder of the commit's tree, its paths relative to it (a package
 * of a monorepo); the document is named after the folder.
 */
export async function openGit(location: string, configured: string, rev: string, limits: FileLimits, subdir?: string): Promise<OpenedSource> {
  const gitDir = isRemoteGit(location) ? await cachedClone(location, rev) : await localGitDir(location, configured);
  const commit = (
    await git(['--git-dir', gitDir, 'rev-parse', '--verify', '--end-of-options', `${rev}^{commit}`], {
      item: configured,
      hint: `rev "${rev}" does not name a commit in this repository; check it with \`git log\``,
    })
  )
    .toString()
    .trim();
  let tree = commit;
  if (subdir !== undefined) {
    const sd = subdir.replace(/\/+$/, '');
    const type = await git(['--git-dir', gitDir, 'cat-file', '-t', `${commit}:${sd}`], { item: configured, hint: '' }).then(
      (b) => b.toString().trim(),
      () => undefined,
    );
    if (type !== 'tree') {
      throw new RetraceError('SOURCE_NOT_FOUND', `subdir "${sd}" is ${type ? `a ${type === 'blob' ? 'file' : type}, not a folder,` : 'not a folder'} in commit ${commit.slice(0, 12)}`, {
        item: `${configured} (subdir ${sd})`,
        hint: 'give a folder path relative to the repository root, as `git ls-tree <rev>` lists it',
      });
    }
    tree = `${commit}:${sd}`;
  }
  const entries = await listTree(gitDir, tree, configured);
  const skipped: OpenedSource['skipped'] = [];
  const log = new SkipLog(skipped);

  return {
    identity: { kind: 'git', name: subdir ? gitRepoName(subdir) : gitRepoName(location), location, commit },
    skipped,
    async *files() {
      log.reset();
      const batch = new CatFile(gitDir, configured);
      try {
        for (const entry of entries.list) {
          const file = await readEntry(entry, entries, batch, limits, log);
          if (file) yield file;
        }
      } finally {
        batch.close();
      }
    },
  };
}

async function readEntry(entry: TreeEntry, tree: Tree, batch: CatFile, limits: FileLimits, log: SkipLog): Promise<SourceFile | undefined> {
  const { path } = entry;
  if (entry.badName) {
    log.add({ path, code: 'FILE_INVALID_UTF8', reason: 'file name is not valid UTF-8' });
    return undefined;
  }
  if (vendoredDir(path)) {
    log.add({ path, code: 'FILE_VENDORED', reason: 'vendored directory' });
    return undefined;
  }
  if (entry.type === 'commit') {
    log.add({ path, code: 'FILE_VENDORED', reason: `git submodule at ${entry.oid}; add it as its own source to include it` });
    return undefined;
  }
  if (entry.mode !== '120000') return checkedFile(path, entry.size, parseInt(entry.mode, 8), () => batch.read(entry.oid), limits, log);

  const target = await resolveLink(path, (p) => tree.kindOf(p), async (p) => (await batch.read(tree.byPath.get(p)!.oid)).toString());
  if (target.kind === 'outside') {
    log.add({ path, code: 'FILE_SYMLINK_OUTSIDE', reason: target.reason });
  } else if (target.kind === 'dir') {
    log.add({ path, code: 'FILE_SYMLINK', reason: `symlink to directory ${target.path || '.'} inside the repository; read at its own path` });
  } else if (vendoredDir(target.path)) {
    log.add({ path, code: 'FILE_VENDORED', reason: `symlink into vendored directory ${vendoredDir(target.path)}/` });
  } else {
    const real = tree.byPath.get(target.path)!;
    return checkedFile(path, real.size, parseInt(real.mode, 8), () => batch.read(real.oid), limits, log);
  }
  return undefined;
}

interface Tree {
  list: TreeEntry[];
  byPath: Map<string, TreeEntry>;
  kindOf(path: string): NodeKind | undefined;
}

async function listTree(gitDir: string, commit: string, item: string): Promise<Tree> {
  const out = await git(['--git-dir', gitDir, 'ls-tree', '-r', '-z', '-l', '--full-tree', commit], {
    item,
    hint: 'the repository may be corrupt or shallow; try `git fsck` in it',
  });
  const list: TreeEntry[] = [];
  for (let start = 0; start < out.length; ) {
    let end = out.indexOf(0, start);
    if (end === -1) end = out.length;
    const record = out.subarray(start, end);
    start = end + 1;
    const tab = record.indexOf(9);
    // "<mode> <type> <oid> <size padded>\t<path>"; size is "-" for submodules.
    const [mode, type, oid, size] = record.subarray(0, tab).toString().trim().split(/ +/);
    const name = record.subarray(tab + 1);
    const entry: TreeEntry = { mode, type, oid, size: size === '-' ? 0 : Number(size), path: name.toString() };
    try {
      utf8.decode(name);
    } catch {
      entry.badName = true;
    }
    list.push(entry);
  }
  list.sort((a, b) => comparePaths(a.path, b.path));
  const byPath = new Map(list.map((e) => [e.path, e]));
  const dirs = impliedDirs(byPath.keys());
  return {
    list,
    byPath,
    kindOf(path) {
      const entry = byPath.get(path);
      if (!entry) return dirs.has(path) ? 'dir' : undefined;
      if (entry.type === 'commit') return 'dir';
      return entry.mode === '120000' ? 'symlink' : 'file';
    },
  };
}

async function localGitDir(path: string, configured: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RetraceError('SOURCE_NOT_FOUND', info ? 'git source is not a directory' : 'git source does not exist', {
      item: configured,
      hint: `point it at a repository folder; relative paths resolve against the config file's directory (here: ${path})`,
    });
  }
  // The ceiling keeps git from walking up: a plain folder inside some other repository must not
  // silently stand for that whole repository.
  try {
    const out = await git(['rev-parse', '--absolute-git-dir'], {
      cwd: path,
      env: { GIT_CEILING_DIRECTORIES: dirname(path) },
      item: configured,
      hint: 'point the git source at the root of a repository (a work tree or a bare repository), or use { dir: ... }',
    });
    return out.toString().trim();
  } catch (err) {
    // Not a repository root: say whether it is a folder inside one (a monorepo package) or a
    // plain folder, instead of git's "not a git repository".
    const top = await git(['rev-parse', '--show-toplevel'], { cwd: path, item: configured, hint: '' }).then(
      (b) => b.toString().trim(),
      () => undefined,
    );
    if (top) {
      const rel = relative(top, path).split(sep).join('/');
      throw new RetraceError('SOURCE_GIT_FAILED', `git source is a folder inside the repository ${top}, not its root`, {
        item: configured,
        hint: `use { git: '${top}', subdir: '${rel}' } for that folder at a commit, or { dir: '${configured}' } for the files as they are on disk`,
        cause: err,
      });
    }
    throw new RetraceError('SOURCE_GIT_FAILED', 'git source is a folder that is not in any git repository', {
      item: configured,
      hint: 'use { dir: ... } for a plain folder, or point `git` at a repository (a work tree or a bare repository)',
      cause: err,
    });
  }
}

async function cachedClone(url: string, rev: string): Promise<string> {
  await initHash();
  const root = join(tmpdir(), 'retrace-git');
  const dir = join(root, `${gitRepoName(url)}-${hashText(url).slice(0, 16)}.git`);
  const hint = 'check the URL and your network/credentials (git runs without a terminal prompt)';
  if (await stat(dir).catch(() => undefined)) {
    const pinned = /^[0-9a-f]{40}$/i.test(rev) && (await git(['--git-dir', dir, 'cat-file', '-e', `${rev}^{commit}`], { item: url, hint }).then(() => true, () => false));
    if (!pinned) await git(['--git-dir', dir, 'fetch', '--quiet', '--prune', '--tags', url, '+refs/heads/*:refs/heads/*'], { item: url, hint });
    return dir;
  }
  // Clone beside the final place and rename, so a concurrent build never sees a half clone.
  await mkdir(root, { recursive: true });
  const partial = `${dir}.${randomBytes(6).toString('hex')}.partial`;
  try {
    await git(['clone', '--bare', '--quiet', '--', url, partial], { item: url, hint });
    await rename(partial, dir).catch(async (err) => {
      // Another build finished the same clone first: use theirs.
      if (!(await stat(dir).catch(() => undefined))) throw err;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return dir;
}
