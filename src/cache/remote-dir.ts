/**
 * A remote store in a shared directory (`file:///mnt/cache`, e.g. an NFS mount on a cluster).
 * Files are immutable once named: each is written to a hidden temporary name in the same
 * folder, flushed, then renamed over its final name, so readers on other machines see a whole
 * file or none. Hidden names (leading dot) are never listed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RetraceError } from '../errors.ts';
import type { RemoteStore, StoredFile } from './remote-store.ts';

export class DirStore implements RemoteStore {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = pathToFileURL(root).href;
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(join(this.root, path)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.failed('read', path, err);
    }
  }

  async has(path: string): Promise<boolean> {
    return existsSync(join(this.root, path));
  }

  async put(path: string, bytes: Uint8Array): Promise<void> {
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
      await rename(tmp, final);
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
