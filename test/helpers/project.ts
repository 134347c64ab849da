/**
 * A test rig that builds a temporary project (fixture repositories + a plain-object config) and
 * runs the real `retrace` binary on it, parsing its --json output.
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
    const r = spawnSync(process.execPath, [BIN, ...full], { cwd: this.dir, encoding: 'utf8', env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20 });
    return result(r.status ?? -1, r.stdout, r.stderr);
  }

  /** Run the CLI asynchronously (for concurrency and kill tests). */
  spawn(args: string[], opts: { env?: Record<string, string> } = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: this.dir, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<CliResult>((res) => child.on('close', (code, signal) => res(result(code ?? (signal ? 137 : -1), stdout, stderr))));
    return { child, done };
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
