/**
 * A file that appears under its final name only once complete: bytes go to
 * `<file>.tmp-<random>`, and commit() fsyncs it, renames it into place and fsyncs the directory,
 * so a crash never leaves a half-written shard under the name a loader or a manifest uses.
 * The sha256 (what external tools verify) is computed over the bytes as they are written.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface CommittedFile {
  file: string;
  bytes: number;
  sha256: string;
}

export class AtomicFile {
  readonly tmp: string;
  private readonly hash = createHash('sha256');
  private bytes = 0;

  private constructor(readonly file: string, private readonly fh: FileHandle, tmp: string) {
    this.tmp = tmp;
  }

  static async create(file: string): Promise<AtomicFile> {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    return new AtomicFile(file, await open(tmp, 'wx'), tmp);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) at += (await this.fh.write(chunk, at)).bytesWritten;
  }

  async commit(): Promise<CommittedFile> {
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmp, this.file);
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return { file: this.file, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Drops the temporary file; safe to call after a failed write or commit. */
  async abort(): Promise<void> {
    // The handle may already be closed by a failed commit; the error that led here is what matters.
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}
