/**
 * The git command line, without a shell: one-shot commands through execFile, and one
 * long-running `git cat-file --batch` that streams blob contents (one process per source, not per
 * file: spawning git costs milliseconds, a repository has thousands of files).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { RetraceError } from '../../src/errors.ts';
import { lazy } from '../../src/lazy.ts';

const childProcess = lazy<typeof import('node:child_process')>('node:child_process');

/** Variables that would point git at another repository than the one we name (e.g. inside a git hook). */
const INHERITED_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_CEILING_DIRECTORIES', 'GIT_COMMON_DIR'];

export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...extra };
  for (const name of INHERITED_GIT_VARS) if (!(name in extra)) delete env[name];
  return env;
}

/**
 * Never a hang (issue 18): a git command, or one blob read from cat-file, that takes longer than
 * this is killed and reported (env RETRACE_CHILD_TIMEOUT_MS, default 10 min: a clone of a large
 * repository over a slow disk can take minutes, a stuck credential helper forever).
 */
export function childTimeoutMs(): number {
  const v = Number(process.env.RETRACE_CHILD_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 10 * 60_000;
}

function timedOut(what: string, item: string, ms: number): RetraceError {
  return new RetraceError('CHILD_TIMEOUT', `${what} did not finish within ${ms} ms; stopped`, {
    item,
    hint: 'check that the repository is local and readable (a network remote or a credential prompt can stall git); RETRACE_CHILD_TIMEOUT_MS sets the limit',
  });
}

/** ls-tree of a large repository can be tens of MB. */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

export interface GitOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** The repository the error is about, as configured. */
  item: string;
  hint: string;
}

export function git(args: string[], opts: GitOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ms = childTimeoutMs();
    childProcess().execFile('git', args, { cwd: opts.cwd, env: gitEnv(opts.env), encoding: 'buffer', maxBuffer: MAX_OUTPUT_BYTES, timeout: ms, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if ((err as { killed?: boolean }).killed && (err as { signal?: string }).signal === 'SIGKILL') return reject(timedOut(`git ${args.join(' ')}`, opts.item, ms));
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const detail = stderr.toString().trim() || err.message;
      reject(
        new RetraceError('SOURCE_GIT_FAILED', `git ${args.join(' ')} failed: ${detail}`, {
          item: opts.item,
          hint: missing ? 'install git and make sure it is on PATH' : opts.hint,
          cause: err,
        }),
      );
    });
  });
}

/** Reads blobs by object id from one `git cat-file --batch` process, one request at a time. */
export class CatFile {
  private readonly child: ChildProcessWithoutNullStreams;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private wake?: () => void;
  private finished = false;
  private failure?: Error;
  private stderr = '';

  constructor(
    gitDir: string,
    private readonly item: string,
  ) {
    this.child = childProcess().spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch'], { env: gitEnv() });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.wake?.();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.stdout.on('end', () => this.stop());
    this.child.on('error', (err) => this.stop(err));
    // A write after git died fails with EPIPE; the read that follows reports it.
    this.child.stdin.on('error', (err) => this.stop(err));
  }

  async read(oid: string): Promise<Buffer> {
    const ms = childTimeoutMs();
    const timer = setTimeout(() => {
      this.failure ??= timedOut(`git cat-file reading ${oid}`, this.item, ms);
      this.child.kill('SIGKILL');
      this.stop();
    }, ms);
    timer.unref();
    try {
      return await this.readOne(oid);
    } catch (err) {
      if (this.failure instanceof RetraceError && this.failure.code === 'CHILD_TIMEOUT') throw this.failure;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async readOne(oid: string): Promise<Buffer> {
    this.child.stdin.write(oid + '\n');
    const header = (await this.line()).toString();
    const [, type, size] = header.split(' ');
    if (type === 'missing' || size === undefined) throw this.error(`object ${oid} is ${type ?? 'unreadable'}`);
    const body = await this.take(Number(size) + 1); // content, then a newline
    return body.subarray(0, body.length - 1);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }

  private stop(err?: Error): void {
    this.finished = true;
    this.failure ??= err;
    this.wake?.();
  }

  private error(message: string): RetraceError {
    const detail = [this.failure?.message, this.stderr.trim()].filter(Boolean).join('; ');
    return new RetraceError('SOURCE_GIT_FAILED', `git cat-file: ${message}${detail ? ` (${detail})` : ''}`, {
      item: this.item,
      hint: 'the repository may be corrupt or shallow; try `git fsck` in it',
      cause: this.failure,
    });
  }

  private async more(): Promise<void> {
    if (this.finished) throw this.error('git exited early');
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
  }

  private async line(): Promise<Buffer> {
    for (;;) {
      const joined = this.join();
      const end = joined.indexOf(10);
      if (end !== -1) {
        this.consume(joined, end + 1);
        return joined.subarray(0, end);
      }
      await this.more();
    }
  }

  private async take(n: number): Promise<Buffer> {
    while (this.buffered < n) await this.more();
    const joined = this.join();
    this.consume(joined, n);
    return joined.subarray(0, n);
  }

  /** All buffered output as one Buffer (at most one copy per request). */
  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(joined: Buffer, n: number): void {
    const rest = joined.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
  }
}
