/**
 * The one test rig for the real `retrace` binary: `runCli` / `spawnCli` run it (parsing its
 * --json output; with --events, following its build events as they happen, so tests act on what
 * the build did, never on a fixed sleep), and `Project` builds a temporary project (fixture
 * repositories + a plain-object config) to run it in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/retrace.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

export interface BuildEventLine {
  event: string;
  stage?: string;
  item?: string;
  cached?: boolean;
  [k: string]: unknown;
}

export interface SpawnedCli {
  child: ReturnType<typeof spawn>;
  done: Promise<CliResult>;
  /** Build events seen so far (from `--events` lines on stderr). */
  events: BuildEventLine[];
  /** Resolves once `count` events match (rejects after `timeoutMs`, or if the process ends first). */
  waitForEvents(match: (e: BuildEventLine) => boolean, count: number, timeoutMs?: number): Promise<void>;
}

/** Run the CLI synchronously. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd, encoding: 'utf8', env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
  return result(r.status ?? -1, r.stdout, r.stderr);
}

/** Run the CLI asynchronously (for concurrency, kill and LLM-server tests). */
export function spawnCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): SpawnedCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  let ended = false;
  const events: BuildEventLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{"event":')) continue;
      events.push(JSON.parse(line) as BuildEventLine);
    }
    for (const w of waiters) w();
  });
  const done = new Promise<CliResult>((res) =>
    child.on('close', (code, signal) => {
      ended = true;
      for (const w of waiters) w();
      res(result(code ?? (signal ? 137 : -1), stdout, stderr));
    }),
  );
  const waitForEvents = (match: (e: BuildEventLine) => boolean, count: number, timeoutMs = 60_000): Promise<void> =>
    new Promise((res, rej) => {
      const check = () => {
        const n = events.filter(match).length;
        if (n >= count) finish(res);
        else if (ended) finish(() => rej(new Error(`the build ended after ${n} of ${count} awaited events:\n${stderr.slice(-2000)}`)));
      };
      const timer = setTimeout(() => finish(() => rej(new Error(`timed out waiting for ${count} events (saw ${events.filter(match).length})`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return { child, done, events, waitForEvents };
}

export class Project {
  readonly dir: string;
  constructor(prefix = 'retrace-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  path(...p: string[]): string {
    return join(this.dir, ...p);
  }

  /** Write files of a repository under repos/<name>/. */
  repo(name: string, files: Record<string, string | Uint8Array>): string {
    for (const [rel, content] of Object.entries(files)) this.write(join('repos', name, rel), content);
    return join('repos', name);
  }

  write(rel: string, content: string | Uint8Array): void {
    const p = this.path(rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  /** A config that imports nothing, as configs living outside the project must. */
  config(cfg: Record<string, unknown>, file = 'pipeline.config.ts'): string {
    this.write(file, `export default ${JSON.stringify(cfg, null, 2)};\n`);
    return this.path(file);
  }

  /** Run the CLI synchronously in the project folder. */
  run(args: string[], opts: { cacheDir?: string; outDir?: string; env?: Record<string, string> } = {}): CliResult {
    const full = [...args];
    if (opts.cacheDir !== undefined) full.push('--cache-dir', opts.cacheDir);
    if (opts.outDir !== undefined) full.push('--out', opts.outDir);
    return runCli(full, { cwd: this.dir, env: opts.env });
  }

  /** Run the CLI asynchronously in the project folder (for concurrency and kill tests). */
  spawn(args: string[], opts: { env?: Record<string, string> } = {}): SpawnedCli {
    return spawnCli(args, { cwd: this.dir, env: opts.env });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function result(code: number, stdout: string, stderr: string): CliResult {
  let json: any;
  const trimmed = stdout.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      json = JSON.parse(trimmed);
    } catch {
      json = undefined;
    }
  }
  return { code, stdout, stderr, json };
}

/** Stage name -> computed count, from a build summary. */
export function computed(summary: any): Record<string, number> {
  return Object.fromEntries(Object.entries(summary.stages as Record<string, { computed: number }>).map(([k, v]) => [k, v.computed]));
}
