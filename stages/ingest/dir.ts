/**
 * A local directory as a source: a lazy, sorted depth-first walk that honours .gitignore files at
 * every level (and .git/info/exclude), never descends into .git or vendored directories, and
 * reads one file at a time.
 *
 * Children are ordered by name, with '/' appended to directory names: that makes the walk order
 * equal to the plain sort of full paths ('a.txt' < 'a/b' because '.' < '/').
 *
 * Symlinks are resolved with realpath against the real root: a link to a file inside the root is
 * followed (the file appears at the link's path), a link to a directory inside is recorded as
 * FILE_SYMLINK and not descended (no loops, no duplicated trees), anything dangling or outside
 * is FILE_SYMLINK_OUTSIDE. Nothing outside the root is ever opened.
 *
 * Global git excludes (core.excludesFile) are not read: a build must not depend on the user's
 * home directory. Patterns match case-sensitively, like git on Linux.
 */
import type { Dirent } from 'node:fs';
import { lstatSync, readFileSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import type { Ignore } from 'ignore';
import { lazy } from '../../src/lazy.ts';
import { RetraceError } from '../../src/errors.ts';
import { VENDORED_DIRS, vendoredDir } from './filter.ts';
import { comparePaths } from './paths.ts';
import { checkedFile, SkipLog } from './skips.ts';

/** The `ignore` package, loaded with the first .gitignore read. */
const loadIgnore = lazy<typeof import('ignore')>('ignore');
import type { FileLimits, OpenedSource, SourceFile } from './types.ts';

/** The rules of one ignore file and the directory (relative to the root) they are relative to. */
interface Matcher {
  base: string;
  source: string;
  rules: Ignore;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `exclude`: absolute folders never read (the build's own cache and datasets folders, when a
 * source contains them: reading them would feed each build's output into the next).
 */
export async function openDir(root: string, configured: string, limits: FileLimits, exclude: readonly string[] = []): Promise<OpenedSource> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RetraceError('SOURCE_NOT_FOUND', info ? 'dir source is not a directory' : 'dir source does not exist', {
      item: configured,
      hint: `check the path; relative paths resolve against the config file's directory (here: ${root})`,
    });
  }
  const realRoot = await realpath(root);
  const skipped: OpenedSource['skipped'] = [];
  const log = new SkipLog(skipped);

  return {
    identity: { kind: 'dir', name: basename(root), location: root },
    skipped,
    async *files() {
      log.reset();
      const rootMatchers = await loadMatchers([], '', join(root, '.git', 'info', 'exclude'), '.git/info/exclude', log);
      yield* walk({ root, realRoot, limits, log, exclude: new Set(exclude) }, '', rootMatchers);
    },
  };
}

interface Walk {
  root: string;
  realRoot: string;
  limits: FileLimits;
  log: SkipLog;
  exclude: ReadonlySet<string>;
}

async function* walk(w: Walk, relDir: string, inherited: Matcher[]): AsyncGenerator<SourceFile> {
  const absDir = join(w.root, relDir);
  let dirents: Dirent<Buffer>[];
  try {
    dirents = await readdir(absDir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    // Its ignore file (if any) would apply to nothing: the folder is left out whole.
    w.log.add({ path: relDir || '.', code: 'FILE_UNREADABLE', reason: fsReason(err) });
    return;
  }

  const entries: { name: string; key: string; dirent: Dirent<Buffer> }[] = [];
  for (const dirent of dirents) {
    let name: string;
    try {
      name = utf8.decode(dirent.name);
    } catch {
      w.log.add({ path: join(relDir, dirent.name.toString()), code: 'FILE_INVALID_UTF8', reason: 'file name is not valid UTF-8' });
      continue;
    }
    entries.push({ name, key: dirent.isDirectory() ? name + '/' : name, dirent });
  }
  entries.sort((a, b) => comparePaths(a.key, b.key));
  // The folder's ignore file is read only where the listing has one: most folders have none, and
  // a failed open (an ENOENT error built per folder) cost more than the rest of the walk.
  const gitignore = relDir ? `${relDir}/.gitignore` : '.gitignore';
  const matchers = entries.some((e) => e.name === '.gitignore') ? await loadMatchers(inherited, relDir, join(absDir, '.gitignore'), gitignore, w.log) : inherited;

  for (const { name, dirent } of entries) {
    // .git is the repository's database (a directory, or a file in worktrees and submodules).
    if (name === '.git') continue;
    const rel = relDir ? `${relDir}/${name}` : name;
    const ignoredBy = ignoringFile(matchers, rel, dirent.isDirectory());
    if (ignoredBy) {
      w.log.add({ path: rel, code: 'FILE_IGNORED', reason: `matched ${ignoredBy}` });
    } else if (dirent.isDirectory()) {
      if (VENDORED_DIRS.has(name)) w.log.add({ path: rel, code: 'FILE_VENDORED', reason: 'vendored directory' });
      // Not logged: whether these folders exist yet must not change the manifest.
      else if (!w.exclude.has(join(w.root, rel))) yield* walk(w, rel, matchers);
    } else {
      const file = await readEntry(w, rel, dirent);
      if (file) yield file;
    }
  }
}

async function readEntry(w: Walk, rel: string, dirent: Dirent<Buffer>): Promise<SourceFile | undefined> {
  const abs = join(w.root, rel);
  try {
    if (dirent.isSymbolicLink()) return await readSymlink(w, rel, abs);
    if (!dirent.isFile()) {
      w.log.add({ path: rel, code: 'FILE_UNREADABLE', reason: 'not a regular file (fifo, socket or device)' });
      return undefined;
    }
    // Synchronous calls: for small files they cost a fraction of four thread-pool round trips
    // each (open, fstat, read, close). Reading a few files ahead through the pool was tried
    // (bench/dir-read.ts, 200 packages, 2026-12-02): 3x the CPU with the page cache warm
    // (0.67 vs 0.23 s) and no faster with it emptied by posix_fadvise (0.8-1.0 vs 0.9 s).
    const info = lstatSync(abs);
    return await checkedFile(rel, info.size, info.mode, async () => readFileSync(abs), w.limits, w.log);
  } catch (err) {
    if (!isFsError(err)) throw err;
    w.log.add({ path: rel, code: 'FILE_UNREADABLE', reason: fsReason(err) });
    return undefined;
  }
}

async function readSymlink(w: Walk, rel: string, abs: string): Promise<SourceFile | undefined> {
  let target: string;
  try {
    target = await realpath(abs);
  } catch (err) {
    w.log.add({ path: rel, code: 'FILE_SYMLINK_OUTSIDE', reason: `dangling symlink (${fsReason(err)})` });
    return undefined;
  }
  if (target !== w.realRoot && !target.startsWith(w.realRoot + sep)) {
    // The target's absolute path stays out of the reason: it lands in the manifest, which must
    // be the same on every machine.
    w.log.add({ path: rel, code: 'FILE_SYMLINK_OUTSIDE', reason: 'symlink target is outside the repository' });
    return undefined;
  }
  const info = await stat(target);
  const inside = target.slice(w.realRoot.length + 1).split(sep).join('/') || '.';
  if (info.isDirectory()) {
    w.log.add({ path: rel, code: 'FILE_SYMLINK', reason: `symlink to directory ${inside} inside the repository; read at its own path` });
    return undefined;
  }
  if (!info.isFile()) {
    w.log.add({ path: rel, code: 'FILE_UNREADABLE', reason: 'symlink to something that is not a regular file' });
    return undefined;
  }
  if (vendoredDir(inside)) {
    w.log.add({ path: rel, code: 'FILE_VENDORED', reason: `symlink into vendored directory ${vendoredDir(inside)}/` });
    return undefined;
  }
  return checkedFile(rel, info.size, info.mode, () => readFile(target), w.limits, w.log);
}

/** Adds the rules of one ignore file (if it exists) to the inherited list. */
async function loadMatchers(inherited: Matcher[], base: string, file: string, source: string, log: SkipLog): Promise<Matcher[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') log.add({ path: source, code: 'FILE_UNREADABLE', reason: fsReason(err) });
    return inherited;
  }
  return [...inherited, { base, source, rules: loadIgnore()({ ignorecase: false }).add(text) }];
}

/**
 * The ignore file that excludes a path, if any. Like git, deeper files override shallower ones:
 * the last matcher with an opinion (ignore or a `!` re-include) decides.
 */
function ignoringFile(matchers: Matcher[], rel: string, isDir: boolean): string | undefined {
  let by: string | undefined;
  for (const m of matchers) {
    const local = (m.base ? rel.slice(m.base.length + 1) : rel) + (isDir ? '/' : '');
    const result = m.rules.test(local);
    if (result.ignored) by = m.source;
    else if (result.unignored) by = undefined;
  }
  return by;
}

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

function fsReason(err: unknown): string {
  return isFsError(err) ? `${err.code}: ${err.message}` : String(err);
}
