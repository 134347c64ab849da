/**
 * A remote store in a shared directory (`file:///mnt/cache`, e.g. an NFS mount on a cluster).
 * Files are immutable once named: each is written to a hidden temporary name in the same
 * folder, flushed, then renamed over its final name, so readers on other machines see a whole
 * file or none. Hidden names (leading dot) are never listed.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RetraceError } from '../errors.ts';
import { MAX_RECORD_BYTES, refused, type ReadLimits, type RemoteStore, type StoredFile } from './remote-store.ts';

/**
 * Reads refuse anything but a regular file inside the store: O_NOFOLLOW (a symlink, e.g. to
 * /dev/zero, is refused), O_NONBLOCK (opening a FIFO does not wait for a writer), fstat of the
 * opened file (FIFOs, devices, sockets, directories refused), a size limit checked before and
 * while reading, folders resolved inside the store's real path, and a deadline on every read.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const DEFAULT_TIMEOUT_MS = 30_000;

export class DirStore implements RemoteStore {
  readonly location: string;
  private readonly timeoutMs: number;
  private realRoot?: Promise<string>;
  /** Folders already found to resolve inside the store. */
  private readonly safeDirs = new Map<string, Promise<boolean>>();

  constructor(readonly root: string, opts: { timeoutMs?: number } = {}) {
    this.location = pathToFileURL(root).href;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async get(path: string, limits: ReadLimits = { maxBytes: MAX_RECORD_BYTES }): Promise<Uint8Array | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(refused(this.location, path, `not read within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.read(path, limits.maxBytes), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const full = join(this.root, path);
    if (!(await this.inside(dirname(full)))) return undefined;
    let fh;
    try {
      fh = await open(full, READ_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      if (code === 'ELOOP') throw refused(this.location, path, 'a symbolic link (the store holds regular files only)');
      throw this.failed('read', path, err);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw refused(this.location, path, `not a regular file (${kind(st)})`);
      if (st.size > maxBytes) throw refused(this.location, path, `${st.size} bytes, over the ${maxBytes} bytes its record allows`);
      // Read at most maxBytes + 1, whatever the size said: a file growing while read is cut off.
      const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(st.size, 0) + 1));
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n > maxBytes) throw refused(this.location, path, `more than the ${maxBytes} bytes its record allows`);
        // The size fstat gave is read: no read-to-EOF round trip (files here are immutable once
        // named; one that grew is cut at its stated size, and a blob is re-hashed anyway). A
        // file stating 0 bytes is read to its end, within the limit.
        if (n === buf.length || (st.size > 0 && n === st.size)) break;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      await fh.close();
    }
  }

  /** True when `dir` (a folder of the store) resolves inside the store's real root. */
  private inside(dir: string): Promise<boolean> {
    let p = this.safeDirs.get(dir);
    if (!p) {
      p = (async () => {
        this.realRoot ??= realpath(this.root).catch(() => this.root);
        const root = await this.realRoot;
        let real: string;
        try {
          real = await realpath(dir);
        } catch {
          return false; // not there (yet): nothing to read; not cached, it may appear
        }
        if (real !== root && !real.startsWith(root + sep)) throw refused(this.location, dir.slice(this.root.length + 1), `a folder that resolves outside the store (${real})`);
        return true;
      })();
      p.then((ok) => !ok && this.safeDirs.delete(dir), () => this.safeDirs.delete(dir));
      this.safeDirs.set(dir, p);
    }
    return p;
  }

  /**
   * Whether `get` would return the file: a regular file (never a link, FIFO or device) in a
   * folder inside the store, of `size` bytes when the caller knows it; anything else there is
   * refused (REMOTE_ENTRY_REFUSED) as `get` would. A result whose blobs are only checked here
   * (fetched when read, tiered.ts) must not be accepted on a file `get` refuses.
   */
  async has(path: string, size?: number): Promise<boolean> {
    const full = join(this.root, path);
    try {
      if (!(await this.inside(dirname(full)))) return false;
    } catch {
      return false; // a folder leading out of the store: `get` refuses it and reports it
    }
    const st = await lstat(full).catch(() => undefined);
    if (!st) return false;
    if (st.isSymbolicLink()) throw refused(this.location, path, 'a symbolic link (the store holds regular files only)');
    if (!st.isFile()) throw refused(this.location, path, `not a regular file (${kind(st)})`);
    if (size !== undefined && st.size !== size) throw refused(this.location, path, `${st.size} bytes, not the ${size} bytes its record states`);
    return true;
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
    await this.write(path, bytes, (tmp, final) => rename(tmp, final));
  }

  /** Write the file only if it is absent (a hard link fails on an existing name, atomically). */
  async create(path: string, bytes: Uint8Array): Promise<boolean> {
    let made = true;
    await this.write(path, bytes, async (tmp, final) => {
      try {
        await link(tmp, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        made = false;
      }
      await rm(tmp, { force: true });
    });
    return made;
  }

  private async write(path: string, bytes: Uint8Array, place: (tmp: string, final: string) => Promise<void>): Promise<void> {
    const final = join(this.root, path);
    const tmp = join(dirname(final), `.${basename(final)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dirname(final), { recursive: true });
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(bytes);
        // Flushed before the rename: on NFS a crash must not leave a named, truncated file.
        await fh.sync();
      } finally {
        await fh.close();
      }
      await place(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw this.failed('write', path, err);
    }
  }

  async delete(path: string): Promise<void> {
    await rm(join(this.root, path), { force: true });
  }

  async list(prefix: string): Promise<StoredFile[]> {
    const out: StoredFile[] = [];
    const walk = async (rel: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(join(this.root, rel));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw this.failed('list', rel, err);
      }
      for (const name of names) {
        if (name.startsWith('.')) continue;
        const p = `${rel}/${name}`;
        const st = await stat(join(this.root, p)).catch(() => undefined);
        if (st?.isDirectory()) await walk(p);
        else if (st?.isFile()) out.push({ path: p, size: st.size, mtimeMs: st.mtimeMs });
      }
    };
    await walk(prefix.replace(/\/+$/, ''));
    return out;
  }

  private failed(what: string, path: string, err: unknown): RetraceError {
    return new RetraceError('REMOTE_FAILED', `cannot ${what} ${path} in the shared cache directory: ${(err as Error).message}`, {
      item: this.root,
      hint: 'check that the directory is mounted and writable by this user',
      cause: err,
    });
  }
}

function kind(st: import('node:fs').Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}
