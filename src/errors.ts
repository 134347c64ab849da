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
  // issue 18: a cache that heals itself, and bad inputs
  /** Warning: a local cache entry failed its check on read; dropped and recomputed. */
  | 'CACHE_ENTRY_DROPPED'
  /** The local LMDB environment itself is damaged (meta pages, truncation, pages LMDB rejects). */
  | 'CACHE_DAMAGED'
  /** Warning: a damaged local environment was repaired (salvaged or started fresh). */
  | 'CACHE_REPAIRED'
  /** A wait on the cache, a worker or a child process exceeded its limit. */
  | 'CACHE_TIMEOUT'
  | 'CHILD_TIMEOUT'
  /** No space left on the disk under --cache-dir or --out. */
  | 'DISK_FULL'
  | 'USAGE';

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
  return new RetraceError(code, message, { item, cause: err });
}

/**
 * Issue 18: a system error that reached the CLI without a code of ours, given one when its cause
 * is plain: a full disk (ENOSPC, EDQUOT) names the path it could not write.
 */
export function systemError(err: unknown): unknown {
  if (err instanceof RetraceError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) {
    return new RetraceError('DISK_FULL', `no space left on the disk: ${e.message}`, {
      item: e.path,
      hint: 'free space there, or pass --out / --cache-dir on a disk with room; no version was written',
      cause: err,
    });
  }
  return err;
}
