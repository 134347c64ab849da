/**
 * Errors users can act on: a stable `code` that tests and scripts match on, the item the error
 * concerns (a file, a repository, a config path), and a hint saying what to do.
 * Exceptions from libraries are converted to a RetraceError at one boundary (the executor for
 * stage work, the CLI for everything else); nothing is swallowed.
 */
export type ErrorCode =
  // configuration
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'CONFIG_LOAD_FAILED'
  // sources
  | 'SOURCE_NOT_FOUND'
  | 'SOURCE_EMPTY'
  | 'SOURCE_GIT_FAILED'
  | 'SOURCE_TARBALL_INVALID'
  | 'FILE_UNREADABLE'
  | 'FILE_INVALID_UTF8'
  | 'FILE_BINARY'
  | 'FILE_TOO_LARGE'
  | 'FILE_MINIFIED'
  | 'FILE_VENDORED'
  | 'FILE_IGNORED'
  | 'FILE_SYMLINK_OUTSIDE'
  | 'FILE_SYMLINK'
  | 'FILE_UNSAFE_PATH'
  // analysis
  | 'PARSE_FAILED'
  // llm
  | 'LLM_REQUEST_FAILED'
  | 'LLM_BAD_ANSWER'
  | 'LLM_BUDGET_EXHAUSTED'
  | 'LLM_AUTH'
  | 'SCORER_NO_PROMPT_LOGPROBS'
  // engine and cache
  | 'CACHE_CORRUPT'
  | 'CACHE_OPEN_FAILED'
  | 'REMOTE_AUTH'
  | 'REMOTE_FAILED'
  | 'REMOTE_READ_ONLY'
  | 'STAGE_FAILED'
  | 'WORKER_FAILED'
  | 'TOKENIZER_FAILED'
  // datasets
  | 'DATASET_NOT_FOUND'
  | 'DATASET_CORRUPT'
  | 'ITEM_NOT_FOUND'
  | 'PARTITIONS_INCOMPLETE'
  | 'USAGE'
  // issue 19: concurrent builds and a shared cache
  | 'CACHE_CLOSED' // the cache was used after close (a bug: a task outlived its build)
  | 'CACHE_CLOSE_TIMEOUT' // closing the LMDB environment did not finish in time
  | 'CACHE_WRITE_FAILED' // an LMDB write failed after its retries
  | 'DISK_FULL' // no space left on the device holding the cache, the output or a temp folder
  | 'REMOTE_ENTRY_REFUSED' // a remote entry is not a regular file, too large, or too slow
  | 'LLM_TIMEOUT'; // an LLM endpoint did not answer within its timeout (after retries)

export class RetraceError extends Error {
  readonly code: ErrorCode;
  /** The file, repository, config path or cache entry this error is about. */
  readonly item?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { item?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RetraceError';
    this.code = code;
    this.item = opts.item;
    this.hint = opts.hint;
  }

  /** One line for logs and reports: `CODE item: message (hint)`. */
  describe(): string {
    const where = this.item ? ` ${this.item}` : '';
    const hint = this.hint ? ` (${this.hint})` : '';
    return `${this.code}${where}: ${this.message}${hint}`;
  }

  toJSON(): { code: ErrorCode; item?: string; message: string; hint?: string } {
    return { code: this.code, item: this.item, message: this.message, hint: this.hint };
  }
}

/** Convert anything thrown into a RetraceError, keeping an existing one as it is. */
export function asRetraceError(err: unknown, code: ErrorCode, item?: string): RetraceError {
  if (err instanceof RetraceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskFull(err)) return diskFull(err, item);
  return new RetraceError(code, message, { item, cause: err });
}

/** ENOSPC / EDQUOT anywhere in the cause chain, or LMDB's "map full" (issue 19). */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'DISK_FULL') return true;
    if (/ENOSPC|EDQUOT|No space left on device|Disk quota exceeded|MDB_MAP_FULL/.test(String((e as Error).message ?? ''))) return true;
  }
  return false;
}

/** Disk full, reported as such: where, and what to do. */
export function diskFull(err: unknown, item?: string): RetraceError {
  const path = (err as { path?: string }).path;
  return new RetraceError('DISK_FULL', `no space left on the device${path ? ` writing ${path}` : ''}: ${err instanceof Error ? err.message : String(err)}`, {
    item: item ?? path,
    hint: 'free space (`retrace cache gc --max-size SIZE` shrinks the cache; old dataset versions can go), or point --cache-dir / --out at a bigger disk',
    cause: err,
  });
}
