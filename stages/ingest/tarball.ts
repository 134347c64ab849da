/**
 * A .tgz / .tar.gz / .tar archive (what `npm pack` writes) as a source, parsed in memory with
 * node-tar's Parser: nothing is extracted to disk, so no entry can write outside anything.
 *
 * Memory: a gzip stream cannot be read out of order, and files must come out sorted, so the
 * archive is read whole (it is hashed whole anyway) and the bodies of candidate files (at most
 * maxFileBytes each) are buffered, up to MAX_BUFFERED_BYTES in total; a larger archive is
 * rejected with a hint to unpack it and use a { dir } source.
 *
 * Paths: a shared top folder (`package/` from npm pack, `name-1.0/` from GitHub) is stripped;
 * absolute or `..` entries are skipped (FILE_UNSAFE_PATH); symlinks and hard links are resolved
 * inside the archive like the git reader does.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ReadEntry } from 'tar';
import { RetraceError } from '../../src/errors.ts';
import { hashBytes, initHash } from '../../src/hash.ts';
import { vendoredDir } from './filter.ts';
import { comparePaths, impliedDirs, resolveLink, safeRelativePath, type NodeKind } from './paths.ts';
import { checkedFile, SkipLog } from './skips.ts';
import type { FileLimits, OpenedSource, SkippedFile, SourceFile } from './types.ts';
import { lazy } from '../../src/lazy.ts';

const zlib = lazy<typeof import('node:zlib')>('node:zlib');

export const MAX_BUFFERED_BYTES = 512 * 1024 * 1024;

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

interface Entry {
  path: string;
  kind: Kind;
  size: number;
  mode: number;
  /** For hard links: relative to the archive root after stripping; undefined if it leaves the archive. */
  linkpath?: string;
  /** The link target as written in the archive, for skip reasons. */
  rawLinkpath?: string;
  body?: Buffer;
}

const KINDS: Record<string, Kind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

export async function openTarball(location: string, configured: string, limits: FileLimits): Promise<OpenedSource> {
  const archive = await readFile(location).catch((err: NodeJS.ErrnoException) => {
    throw new RetraceError('SOURCE_NOT_FOUND', `tarball source cannot be read (${err.code})`, {
      item: configured,
      hint: `check the path; relative paths resolve against the config file's directory (here: ${location})`,
    });
  });
  await initHash();
  const tarballHash = hashBytes(archive);
  const unsafe: SkippedFile[] = [];
  const entries = stripTopFolder(await parse(archive, configured, limits), unsafe);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const dirs = impliedDirs(byPath.keys());
  const kindOf = (path: string): NodeKind | undefined => {
    const entry = byPath.get(path);
    if (!entry) return dirs.has(path) ? 'dir' : undefined;
    return entry.kind === 'symlink' ? 'symlink' : entry.kind === 'dir' ? 'dir' : 'file';
  };
  const skipped: OpenedSource['skipped'] = [];
  const log = new SkipLog(skipped);

  return {
    identity: { kind: 'tarball', name: packageName(byPath) ?? archiveName(location), location, tarballHash },
    skipped,
    async *files() {
      log.reset();
      for (const skip of unsafe) log.add(skip);
      for (const entry of entries) {
        const file = await readEntry(entry, byPath, kindOf, limits, log);
        if (file) yield file;
      }
    },
  };
}

async function readEntry(
  entry: Entry,
  byPath: Map<string, Entry>,
  kindOf: (path: string) => NodeKind | undefined,
  limits: FileLimits,
  log: SkipLog,
): Promise<SourceFile | undefined> {
  const { path } = entry;
  if (entry.kind === 'dir') return undefined;
  if (vendoredDir(path)) {
    log.add({ path, code: 'FILE_VENDORED', reason: 'vendored directory' });
    return undefined;
  }
  let real: Entry | undefined = entry;
  if (entry.kind === 'other') {
    log.add({ path, code: 'FILE_UNREADABLE', reason: 'archive entry is not a regular file (device, fifo)' });
    return undefined;
  }
  if (entry.kind === 'hardlink') {
    // Hard link targets are archive paths (relative to the archive root, not to the link).
    real = entry.linkpath === undefined ? undefined : byPath.get(entry.linkpath);
    if (real?.kind !== 'file') {
      log.add({ path, code: 'FILE_SYMLINK_OUTSIDE', reason: `hard link target ${entry.rawLinkpath ?? '(none)'} is not a file in the archive` });
      return undefined;
    }
  }
  if (entry.kind === 'symlink') {
    const target = await resolveLink(path, kindOf, async (p) => byPath.get(p)?.linkpath ?? '');
    if (target.kind === 'outside') {
      log.add({ path, code: 'FILE_SYMLINK_OUTSIDE', reason: target.reason });
      return undefined;
    }
    if (target.kind === 'dir') {
      log.add({ path, code: 'FILE_SYMLINK', reason: `symlink to directory ${target.path || '.'} inside the repository; read at its own path` });
      return undefined;
    }
    if (vendoredDir(target.path)) {
      log.add({ path, code: 'FILE_VENDORED', reason: `symlink into vendored directory ${vendoredDir(target.path)}/` });
      return undefined;
    }
    real = byPath.get(target.path)!;
    // A symlink may resolve to a hard link.
    if (real.kind === 'hardlink') real = real.linkpath === undefined ? undefined : byPath.get(real.linkpath);
    if (real?.kind !== 'file') {
      log.add({ path, code: 'FILE_SYMLINK_OUTSIDE', reason: 'symlink target is not a file in the archive' });
      return undefined;
    }
  }
  const body = real.body;
  // precheck in checkedFile skips every file whose body was not buffered (size > maxFileBytes).
  return checkedFile(path, real.size, real.mode, async () => body ?? Buffer.alloc(0), limits, log);
}

async function parse(archive: Buffer, item: string, limits: FileLimits): Promise<Entry[]> {
  const { Parser } = await import('tar');
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    let buffered = 0;
    const parser = new Parser({ strict: true });
    const fail = (err: Error) => {
      reject(
        new RetraceError('SOURCE_TARBALL_INVALID', `not a readable tar archive: ${err.message}`, {
          item,
          hint: 'check that the file is a complete .tgz/.tar.gz/.tar (e.g. re-run `npm pack`)',
          cause: err,
        }),
      );
    };
    parser.on('entry', (read: ReadEntry) => {
      const entry: Entry = { path: read.path, kind: KINDS[read.type] ?? 'other', size: read.size, mode: read.mode ?? 0o644, linkpath: read.linkpath, rawLinkpath: read.linkpath };
      entries.push(entry);
      if (entry.kind !== 'file' || entry.size > limits.maxFileBytes) {
        read.resume();
        return;
      }
      buffered += entry.size;
      if (buffered > MAX_BUFFERED_BYTES) {
        parser.abort(new Error(`more than ${MAX_BUFFERED_BYTES} bytes of candidate files; unpack it and use a { dir } source`));
        return;
      }
      const chunks: Buffer[] = [];
      read.on('data', (chunk: Buffer) => chunks.push(chunk));
      read.on('end', () => (entry.body = Buffer.concat(chunks)));
    });
    parser.on('error', (err: Error) => {
      // An empty archive is only end-of-archive zero blocks, which tar's strict parser calls
      // "Unrecognized archive format": it is an empty source (SOURCE_EMPTY), not a broken file.
      if (entries.length === 0 && isEmptyArchive(archive)) resolve([]);
      else fail(err);
    });
    parser.on('end', () => resolve(entries));
    parser.end(archive);
  });
}

/**
 * Normalizes entry paths, moves unsafe ones to `unsafe`, strips a top folder shared by all, and
 * returns the rest sorted (a repeated path keeps its last entry, as extraction would).
 */
function stripTopFolder(raw: Entry[], unsafe: SkippedFile[]): Entry[] {
  const safe: Entry[] = [];
  for (const entry of raw) {
    // One rule for names across source kinds (issue 19): dir and git sources skip names that are
    // not UTF-8. tar decodes header names lossily, so such a name arrives holding U+FFFD.
    if (entry.path.includes('\uFFFD')) {
      if (entry.kind !== 'dir') unsafe.push({ path: entry.path, code: 'FILE_INVALID_UTF8', reason: 'file name is not valid UTF-8' });
      continue;
    }
    const path = safeRelativePath(entry.path);
    if (path === '' && entry.kind === 'dir') continue; // the archive root itself ('./')
    if (!path) unsafe.push({ path: entry.path, code: 'FILE_UNSAFE_PATH', reason: 'archive entry path is absolute, empty or contains ..' });
    else safe.push({ ...entry, path });
  }
  const top = safe[0]?.path.split('/')[0];
  const shared = safe.length > 0 && safe.every((e) => e.path.startsWith(top + '/') || (e.path === top && e.kind === 'dir'));
  const byPath = new Map<string, Entry>();
  for (const entry of safe) {
    const path = shared ? entry.path.slice(top!.length + 1) : entry.path;
    if (path === '') continue;
    let linkpath = entry.linkpath;
    if (entry.kind === 'hardlink' && linkpath !== undefined) {
      const normal = safeRelativePath(linkpath);
      linkpath = !normal || (shared && !normal.startsWith(top + '/')) ? undefined : shared ? normal.slice(top!.length + 1) : normal;
    }
    byPath.set(path, { ...entry, path, linkpath });
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

function packageName(byPath: Map<string, Entry>): string | undefined {
  const body = byPath.get('package.json')?.body;
  if (!body) return undefined;
  try {
    const name = JSON.parse(body.toString('utf8')).name;
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}

function archiveName(location: string): string {
  return basename(location).replace(/\.(tgz|tar\.gz|tar)$/i, '');
}

/** A tar (or gzipped tar) of zero blocks only: what `tar czf x.tgz -T /dev/null` writes. */
function isEmptyArchive(archive: Buffer): boolean {
  let raw = archive;
  try {
    if (archive[0] === 0x1f && archive[1] === 0x8b) raw = zlib().gunzipSync(archive);
  } catch {
    return false;
  }
  return raw.length > 0 && raw.length % 512 === 0 && raw.every((b) => b === 0);
}
