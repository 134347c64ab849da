/**
 * What every command shares: the common options, the reporter for the output mode, the folders
 * of the project, and the shape handlers return: `{ value, text, exitCode }`, printed by one
 * printer (main.ts) as JSON (--json) or as text.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { projectDirs } from '../src/build/index.ts';
import type { LmdbCache } from '../src/cache/lmdb-store.ts';
import { RetraceError } from '../src/errors.ts';
import { initHash } from '../src/hash.ts';
import { EventLogReporter, PlainReporter, TtyReporter, type Reporter } from '../src/reporter.ts';

export interface Common {
  config: string;
  'cache-dir'?: string;
  out?: string;
  json: boolean;
}

/** What a handler returns; `exitCode` 3 means "done, but something failed or is damaged". */
export interface Result {
  value: unknown;
  text: string;
  exitCode?: 0 | 1 | 3;
  /** The command printed its own output as it went (`build --watch`): the printer adds nothing. */
  printed?: boolean;
}

export function common<T>(y: Argv<T>): Argv<T & Common> {
  return y
    .option('config', { alias: 'c', type: 'string', default: 'pipeline.config.ts', describe: 'pipeline config file (relative paths inside it resolve against its folder)' })
    .option('cache-dir', { type: 'string', describe: 'cache folder (default: cache.dir from the config, else <config folder>/cache); must be on a local disk' })
    .option('out', { type: 'string', describe: 'datasets folder (default: <config folder>/datasets)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout instead of text; no progress display' }) as Argv<T & Common>;
}

export function reporterFor(json: boolean, events = false): Reporter {
  // Text mode: the summary lists every failure once, so the live display does not print them.
  const base = json ? new PlainReporter() : process.stderr.isTTY ? new TtyReporter() : new PlainReporter(process.stderr, false);
  return events ? new EventLogReporter(base) : base;
}

/** `--events`: every build event as a JSON line on stderr, for tools that follow a build. */
export function withEvents<T>(y: Argv<T>): Argv<T & { events: boolean }> {
  return y.option('events', { type: 'boolean', default: false, describe: 'also print every build event (item stored, item failed, warning, phase) as one JSON line on stderr' }) as Argv<T & { events: boolean }>;
}

export function folders(a: Common): Promise<{ cacheDir: string; outDir: string }> {
  return projectDirs({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out });
}

export const dirOpts = (a: Common) => ({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out });

/** Open the project's local cache for a read or maintenance command (never creates one). */
export async function withCache<T>(a: Common, fn: (cache: LmdbCache) => Promise<T>): Promise<T> {
  await initHash();
  const { cacheDir } = await folders(a);
  if (!existsSync(join(cacheDir, 'lmdb'))) {
    throw new RetraceError('ITEM_NOT_FOUND', 'there is no cache here yet', {
      item: cacheDir,
      hint: 'build first, or pass the --cache-dir (or --config) the build used',
    });
  }
  // lmdb loads on first use, not with the CLI: a no-op build never opens the cache.
  const { LmdbCache } = await import('../src/cache/lmdb-store.ts');
  const cache = LmdbCache.open(cacheDir);
  try {
    return await fn(cache);
  } finally {
    await cache.close();
  }
}

export const human = (n: number): string => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/**
 * Run a build with Ctrl-C handled: the live display is cleared and one line says what is kept
 * (every finished item is in the cache; no version is written) and that a rerun resumes; exit 130.
 */
export async function interruptible<T>(reporter: Reporter, cacheDir: string | undefined, fn: () => Promise<T>): Promise<T> {
  const onInt = (): void => {
    reporter.done();
    const n = reporter.finished?.();
    process.stderr.write(`\ninterrupted: ${n === undefined ? 'the' : n} finished item(s) are kept in the cache${cacheDir ? ` (${cacheDir})` : ''} and no version was written; run the same build again to resume: only what is missing is computed\n`);
    // Die by the signal itself (exit status 130), not process.exit(): exiting joins libuv's
    // threads, and an LMDB write waiting for its transaction callback on this thread would never
    // finish (seen as a hung Ctrl-C). The cache is safe either way: every commit is atomic.
    process.removeAllListeners('SIGINT');
    process.kill(process.pid, 'SIGINT');
  };
  process.once('SIGINT', onInt);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onInt);
  }
}
