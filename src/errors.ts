/**
 * Errors users can act on: a stable `code` that tests and scripts match on, the item the error
 * concerns (a file, a repository, a config path), and a hint saying what to do.
 * Exceptions from libraries are converted to a RetraceError at one boundary (the executor for
 * stage work, the CLI for everything else); nothing is swallowed.
 *
 * Codes live in registries: the engine's below, a pipeline's in its own folder (stages/errors.ts),
 * each code with one meaning. A registry adds its codes to the `ErrorCodes` interface (TypeScript
 * declaration merging), so `new RetraceError('X', ...)` only compiles for a registered code, and
 * registers them at run time, so failures the executor records, warnings, skip reasons and errors
 * coming back from workers are checked against the same list (`checkCode`); a test checks that
 * every code written in the sources is registered.
 */

/** The engine's own codes. */
export interface EngineErrorCodes {
  // configuration
  CONFIG_NOT_FOUND: true;
  CONFIG_INVALID: true;
  CONFIG_LOAD_FAILED: true;
  // engine and cache
  CACHE_BLOB_MISSING: true;
  CACHE_ENTRY_DROPPED: true;
  CACHE_OPEN_FAILED: true;
  CACHE_WRITE_FAILED: true;
  CACHE_ROOT_INVALID: true;
  CACHE_CLOSURE_INCOMPLETE: true;
  CACHE_BUNDLE_INVALID: true;
  CACHE_PINS_INVALID: true;
  REMOTE_AUTH: true;
  REMOTE_FAILED: true;
  REMOTE_READ_ONLY: true;
  REMOTE_BLOB_CORRUPT: true;
  REMOTE_UNTRUSTED: true;
  REMOTE_PREFETCH_FAILED: true;
  STAGE_FAILED: true;
  WORKER_FAILED: true;
  BUILD_STOPPED: true;
  BUNDLE_FAILED: true;
  CACHE_DAMAGED: true;
  CACHE_REPAIRED: true;
  CACHE_TIMEOUT: true;
  CHILD_TIMEOUT: true;
  DISK_FULL: true;
  EXIT_FORCED: true;
  CACHE_CLOSED: true;
  CACHE_CLOSE_TIMEOUT: true;
  REMOTE_ENTRY_REFUSED: true;
  REMOTE_UNSIGNED: true;
  // datasets
  DATASET_NOT_FOUND: true;
  DATASET_CORRUPT: true;
  DATASET_REPAIRED: true;
  ITEM_NOT_FOUND: true;
  PARTITIONS_INCOMPLETE: true;
  NOTHING_BUILT: true;
  USAGE: true;
  // issue 16
  BUILD_INCOMPLETE: true;
  // build --watch
  WATCH_CODE_CHANGED: true;
  WATCH_POLLING: true;
}

/** Every registered code. Registries extend it with `declare module` (see stages/errors.ts). */
export interface ErrorCodes extends EngineErrorCodes {}

export type ErrorCode = keyof ErrorCodes;

/** What a code means, and whether it is an error (the item failed) or a warning (reported, work goes on). */
export interface CodeSpec {
  meaning: string;
  kind: 'error' | 'warning' | 'skip';
}

const registry = new Map<string, CodeSpec & { owner: string }>();

/**
 * Register a registry's codes (at module load). A code registered twice with another meaning is
 * a programming error: one code, one meaning.
 */
export function registerCodes<K extends string>(owner: string, specs: Record<K, CodeSpec>): Record<K, CodeSpec> {
  for (const [code, spec] of Object.entries(specs) as Array<[string, CodeSpec]>) {
    const had = registry.get(code);
    if (had && had.meaning !== spec.meaning) throw new Error(`error code ${code} registered twice (${had.owner}, ${owner}) with different meanings`);
    registry.set(code, { ...spec, owner });
  }
  return specs;
}

/** The registered codes (for docs, and the test that checks every code used in the sources). */
export function registeredCodes(): ReadonlyMap<string, CodeSpec & { owner: string }> {
  return registry;
}

/** Throws (a bug, not a user error) when a code was never registered. */
export function checkCode(code: string): ErrorCode {
  if (!registry.has(code)) throw new Error(`unregistered error code ${code}: add it to a registry (src/errors.ts or the pipeline's errors.ts)`);
  return code as ErrorCode;
}

const ENGINE_SPECS: Record<keyof EngineErrorCodes, CodeSpec> = {
  CONFIG_NOT_FOUND: { kind: 'error', meaning: 'no config file at the given path' },
  CONFIG_INVALID: { kind: 'error', meaning: 'a config value has the wrong type, range or key (the item names its path)' },
  CONFIG_LOAD_FAILED: { kind: 'error', meaning: 'the config file could not be compiled or imported' },
  CACHE_BLOB_MISSING: { kind: 'error', meaning: 'a blob that a result or a stage needs is missing from the cache or failed its hash check' },
  CACHE_ENTRY_DROPPED: { kind: 'warning', meaning: 'a cache entry could not be decoded: treated as a miss and recomputed' },
  CACHE_OPEN_FAILED: { kind: 'error', meaning: 'the local cache could not be opened' },
  CACHE_WRITE_FAILED: { kind: 'warning', meaning: 'a write to the remote cache failed; the build goes on with the local tier' },
  CACHE_ROOT_INVALID: { kind: 'error', meaning: "a version root (the key list of a version's closure) cannot be read" },
  CACHE_CLOSURE_INCOMPLETE: { kind: 'error', meaning: "results of a version's closure are no longer in the cache" },
  CACHE_BUNDLE_INVALID: { kind: 'error', meaning: 'a file given to `cache import` is not a readable export' },
  CACHE_PINS_INVALID: { kind: 'error', meaning: 'the list of pinned versions cannot be read' },
  REMOTE_AUTH: { kind: 'error', meaning: 'the remote cache refused the credentials' },
  REMOTE_FAILED: { kind: 'error', meaning: 'the remote cache could not be reached or answered an error' },
  REMOTE_READ_ONLY: { kind: 'error', meaning: 'a write was asked of a read-only remote cache' },
  REMOTE_BLOB_CORRUPT: { kind: 'warning', meaning: 'a remote blob failed its hash check: discarded, its results are recomputed' },
  REMOTE_UNTRUSTED: { kind: 'warning', meaning: 'a remote result failed its signature check and was ignored' },
  REMOTE_PREFETCH_FAILED: { kind: 'warning', meaning: 'the bulk prefetch of a version from the remote failed; results are fetched one by one' },
  STAGE_FAILED: { kind: 'error', meaning: 'a stage threw an exception that carried no code of its own' },
  WORKER_FAILED: { kind: 'error', meaning: 'a worker thread crashed or could not start' },
  BUILD_STOPPED: { kind: 'error', meaning: 'the build was stopped (e.g. a budget was reached) before this item ran; finished work stays cached' },
  CACHE_DAMAGED: { kind: 'error', meaning: 'the local LMDB environment itself is damaged (meta pages, truncation, pages LMDB rejects): `cache verify --repair` or `build --repair-cache`' },
  CACHE_REPAIRED: { kind: 'warning', meaning: 'a damaged local cache environment was repaired (salvaged, or started fresh)' },
  CACHE_TIMEOUT: { kind: 'error', meaning: 'a wait on the cache exceeded its limit' },
  CHILD_TIMEOUT: { kind: 'error', meaning: 'a child process (git, the salvage helper) exceeded its time limit' },
  DISK_FULL: { kind: 'error', meaning: 'no space left on the disk under --cache-dir or --out' },
  CACHE_CLOSED: { kind: 'error', meaning: 'the cache was used after it was closed (a bug: a task outlived its build)' },
  CACHE_CLOSE_TIMEOUT: { kind: 'warning', meaning: 'closing the LMDB environment did not finish in time; the process exits anyway' },
  REMOTE_ENTRY_REFUSED: { kind: 'warning', meaning: 'a remote entry is not a regular file, is larger than its record says, or is too slow: refused and recomputed' },
  REMOTE_UNSIGNED: { kind: 'warning', meaning: 'the shared cache is used without signatures: anyone who can write to it can change what builds read' },
  EXIT_FORCED: { kind: 'warning', meaning: 'the command finished but something kept the process alive: it exited anyway' },
  BUNDLE_FAILED: { kind: 'warning', meaning: 'the CLI could not be bundled; it runs from the TypeScript sources (slower start)' },
  DATASET_NOT_FOUND: { kind: 'error', meaning: 'no dataset version matches the given name or id' },
  DATASET_CORRUPT: { kind: 'error', meaning: 'a version folder on disk is damaged or unreadable' },
  DATASET_REPAIRED: { kind: 'warning', meaning: 'a shard of the version was missing or damaged on disk and was written again from the cache' },
  ITEM_NOT_FOUND: { kind: 'error', meaning: 'no cached item, file or version matches the given name' },
  PARTITIONS_INCOMPLETE: { kind: 'error', meaning: 'merge found partitions that have not completed' },
  NOTHING_BUILT: { kind: 'error', meaning: 'the build produced no document at all: no version is written' },
  USAGE: { kind: 'error', meaning: 'the command line is wrong' },
  // issue 16
  BUILD_INCOMPLETE: { kind: 'error', meaning: 'build --strict: some items failed, so no version was written' },
  WATCH_CODE_CHANGED: { kind: 'error', meaning: "build --watch stopped: Retrace's own code changed on disk since it started (the running process would build with the old code)" },
  WATCH_POLLING: { kind: 'warning', meaning: 'build --watch could not watch a path for changes (inotify limit, missing path): it polls the inputs instead' },
};
export const ENGINE_CODES = registerCodes('engine', ENGINE_SPECS);

export class RetraceError extends Error {
  readonly code: ErrorCode;
  /** The file, repository, config path or cache entry this error is about. */
  readonly item?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, opts: { item?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RetraceError';
    this.code = code; // checked by the type system; recorded failures and warnings are checked at run time (checkCode)
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

/** A factory per code of a registry: `errors.CONFIG_INVALID(message, { item, hint })`. */
export type ErrorFactories<K extends string> = { readonly [C in K]: (message: string, opts?: { item?: string; hint?: string; cause?: unknown }) => RetraceError };

export function factories<K extends string>(specs: Record<K, CodeSpec>): ErrorFactories<K> {
  const out = {} as Record<string, (message: string, opts?: { item?: string; hint?: string; cause?: unknown }) => RetraceError>;
  for (const code of Object.keys(specs)) out[code] = (message, opts) => new RetraceError(code as ErrorCode, message, opts);
  return out as ErrorFactories<K>;
}

/** The engine's factories. */
export const errors = factories(ENGINE_CODES);

/** Convert anything thrown into a RetraceError, keeping an existing one as it is. */
export function asRetraceError(err: unknown, code: ErrorCode, item?: string): RetraceError {
  if (err instanceof RetraceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskFull(err)) return diskFull(err, item);
  return new RetraceError(code, message, { item, cause: err });
}

/** ENOSPC / EDQUOT anywhere in the cause chain, or LMDB's "map full". */
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
  if (err instanceof RetraceError && err.code === 'DISK_FULL') return err;
  const path = (err as { path?: string }).path;
  return new RetraceError('DISK_FULL', `no space left on the device${path ? ` writing ${path}` : ''}: ${err instanceof Error ? err.message : String(err)}`, {
    item: item ?? path,
    hint: 'free space (`retrace cache gc --max-size SIZE` shrinks the cache; old dataset versions can go), or point --cache-dir / --out at a bigger disk; no version was written',
    cause: err,
  });
}

/**
 * Issue 18: a system error that reached the CLI without a code of ours, given one when its cause
 * is plain: a full disk (ENOSPC, EDQUOT) names the path it could not write.
 */
export function systemError(err: unknown): unknown {
  if (err instanceof RetraceError && err.code !== 'USAGE') return err;
  if (err && isDiskFull(err)) return diskFull(err);
  return err;
}
