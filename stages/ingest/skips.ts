/**
 * The skipped list of one pass, and the one place a candidate file is checked and read, so the
 * three readers apply the filter identically.
 */
import { isTextCandidate, precheck, vendoredDir } from './filter.ts';
import type { FileLimits, SkippedFile, SourceFile } from './types.ts';

export class SkipLog {
  private readonly vendored = new Set<string>();

  constructor(readonly list: SkippedFile[]) {}

  /** A new pass over the source starts from an empty list (the array object is kept: callers hold it). */
  reset(): void {
    this.list.length = 0;
    this.vendored.clear();
  }

  add(skip: SkippedFile): void {
    const dir = skip.code === 'FILE_VENDORED' ? vendoredDir(skip.path) : undefined;
    if (dir) {
      // One entry per vendored directory, not one per file: node_modules can hold 100k files.
      if (this.vendored.has(dir)) return;
      this.vendored.add(dir);
      this.list.push({ path: dir, code: 'FILE_VENDORED', reason: 'vendored directory' });
      return;
    }
    this.list.push(skip);
  }
}

/** Normalizes a file mode to what git records, so all source kinds agree. */
export function gitMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

/**
 * Checks a file by path and size first (no read), then reads it and checks its content.
 * `path` is where the file appears in the repository; `read` may fetch it from elsewhere
 * (a followed symlink's target).
 */
export async function checkedFile(
  path: string,
  size: number,
  mode: number,
  read: () => Promise<Uint8Array>,
  limits: FileLimits,
  log: SkipLog,
): Promise<SourceFile | undefined> {
  const early = precheck(path, size, limits);
  if (early) {
    log.add(early);
    return undefined;
  }
  const bytes = await read();
  const skip = isTextCandidate(path, bytes, limits);
  if (skip) {
    log.add(skip);
    return undefined;
  }
  return { path, bytes, mode: gitMode(mode) };
}
