/**
 * Repairing a damaged local environment (issue 18): `retrace cache verify --repair`,
 * `build --repair-cache`, and a build that found LMDB errors while it ran.
 *
 *  1. The damaged data.mdb is copied to a work folder inside the cache folder. In the copy, a
 *     damaged meta page is replaced by the good one, and a truncated file is extended with zero
 *     pages (LMDB then reports those pages damaged instead of crashing on a read past the end).
 *  2. A child process (`retrace cache salvage-into`, so a page that crashes LMDB kills only the
 *     child, under a timeout) copies every entry that reads back whole into a fresh environment:
 *     blobs that re-hash, records and item states that match their schema.
 *  3. The damaged environment is moved aside (`lmdb-damaged-<time>`, never deleted: nothing is
 *     lost that a person could still rescue) and the fresh one takes its place. If nothing can be
 *     salvaged, the cache starts empty and the next build recomputes everything.
 * Nothing is written outside the cache folder.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, readSync, writeSync, ftruncateSync, fstatSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RetraceError } from '../errors.ts';
import { lazy } from '../lazy.ts';
import type { Reporter } from '../reporter.ts';
import type { LmdbCache as LmdbCacheType } from './lmdb-store.ts';
import { readMetas, otherUsers } from './lmdb-check.ts';
import { forgetUpToDate } from '../build/up-to-date.ts';

export interface SalvageCounts {
  blobs: number;
  actions: number;
  items: number;
  /** Entries (or ranges of entries) that could not be read back whole. */
  lost: number;
  errors: string[];
}

export interface RepairOutcome {
  /** 'salvaged': readable entries copied into a fresh environment; 'fresh': started empty. */
  mode: 'salvaged' | 'fresh';
  /** Where the damaged environment now lies. */
  movedAside: string;
  salvaged?: SalvageCounts;
  /** Why salvage was impossible ('fresh' only). */
  reason?: string;
}

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/retrace.js');

/** Limit for the salvage child (env RETRACE_SALVAGE_TIMEOUT_MS, default 30 min). */
function salvageTimeoutMs(): number {
  const v = Number(process.env.RETRACE_SALVAGE_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 30 * 60_000;
}

/**
 * Make `work/data.mdb` a copy of `dir/data.mdb` that LMDB can open: both meta pages from the best
 * valid one, and the file at least as long as that meta page says. Returns why not, if it cannot.
 */
function prepareCopy(dir: string, work: string): string | undefined {
  const src = join(dir, 'data.mdb');
  if (!existsSync(src)) return 'there is no data.mdb';
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const dst = join(work, 'data.mdb');
  copyFileSync(src, dst);
  const { metas } = readMetas(dst);
  // A meta page whose only fault is the file's length is still the best guide to the data.
  const usable = metas.filter((m) => m.valid || m.problem?.startsWith('the file is'));
  if (usable.length === 0) return `no readable meta page (${metas.map((m) => `page ${m.page}: ${m.problem}`).join('; ')})`;
  const best = usable.reduce((a, b) => (b.txnId > a.txnId ? b : a));
  const fd = openSync(dst, 'r+');
  try {
    const ps = best.pageSize;
    const page = Buffer.alloc(ps);
    readSync(fd, page, 0, ps, best.page * ps);
    for (const n of [0, 1]) {
      if (n === best.page) continue;
      page.writeBigUInt64LE(BigInt(n), 0);
      writeSync(fd, page, 0, ps, n * ps);
    }
    const need = Number((best.lastPage + 1n) * BigInt(ps));
    if (fstatSync(fd).size < need) ftruncateSync(fd, need);
  } finally {
    closeSync(fd);
  }
  return undefined;
}

const childProcess = lazy<typeof import('node:child_process')>('node:child_process');

type ChildResult = { ok: true; counts: SalvageCounts } | { ok: false; reason: string; last?: { store: string; range: number; counts: number[] } };

function runChild(from: string, to: string, start?: { store: string; range: number }): Promise<ChildResult> {
  return new Promise((res) => {
    const args = [BIN, 'cache', 'salvage-into', from, to, ...(start ? ['--from-range', `${start.store}:${start.range}`] : [])];
    const child = childProcess().spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const ms = salvageTimeoutMs();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      res({ ok: false, reason: `the salvage did not finish within ${ms} ms (RETRACE_SALVAGE_TIMEOUT_MS)` });
    }, ms);
    child.on('error', (err) => {
      clearTimeout(timer);
      res({ ok: false, reason: `cannot start the salvage: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      if (code === 0) {
        try {
          res({ ok: true, counts: JSON.parse(lines.pop() ?? '') as SalvageCounts });
        } catch {
          res({ ok: false, reason: `the salvage printed no report: ${stdout.slice(-200)}` });
        }
        return;
      }
      const progress = lines.filter((l) => l.startsWith('range ')).pop()?.split(' ');
      const last = progress ? { store: progress[1]!, range: Number(progress[2]), counts: progress.slice(3).map(Number) } : undefined;
      const why = stderr.trim().split('\n').filter((l) => !l.startsWith('internal error')).pop() ?? '';
      res({ ok: false, last, reason: `the salvage ${signal ? `was killed by ${signal}` : `exited ${code}`} reading the damaged file${why ? `: ${why}` : ''}` });
    });
  });
}

/**
 * Salvage in a child; a child that crashes on a damaged page is restarted past the range of keys
 * it was reading (at most 40 restarts), so one bad page loses one range, not the whole cache.
 */
async function salvage(from: string, to: string): Promise<ChildResult> {
  let start: { store: string; range: number } | undefined;
  let lostRanges = 0;
  const total: SalvageCounts = { blobs: 0, actions: 0, items: 0, lost: 0, errors: [] };
  for (let attempt = 0; attempt < 40; attempt++) {
    const r = await runChild(from, to, start);
    if (r.ok) {
      const c = r.counts;
      return { ok: true, counts: { blobs: total.blobs + c.blobs, actions: total.actions + c.actions, items: total.items + c.items, lost: total.lost + c.lost + lostRanges, errors: [...total.errors, ...c.errors].slice(0, 20) } };
    }
    if (!r.last) return r;
    const [b = 0, a = 0, i = 0, l = 0] = r.last.counts;
    total.blobs += b;
    total.actions += a;
    total.items += i;
    total.lost += l;
    lostRanges++;
    total.errors.push(r.reason);
    start = r.last.store === 'items' ? undefined : { store: r.last.store, range: r.last.range + 1 };
    if (!start) return { ok: true, counts: { ...total, lost: total.lost + lostRanges } }; // only item histories were left: they are for explain
  }
  return { ok: false, reason: 'the salvage crashed 40 times' };
}

/**
 * Repair `cacheDir/lmdb`: salvage into a fresh environment, or start fresh. Refuses while another
 * live process has the environment open (swapping it under a running build would lose its work).
 */
export async function repairEnvironment(cacheDir: string): Promise<RepairOutcome> {
  const dir = join(cacheDir, 'lmdb');
  const users = otherUsers(dir);
  if (users.length > 0) {
    throw new RetraceError('CACHE_DAMAGED', `cannot repair the cache while process(es) ${users.join(', ')} use it`, {
      item: dir,
      hint: 'wait for those builds to finish (or stop them), then run `retrace cache verify --repair`',
    });
  }
  forgetUpToDate(cacheDir); // what the repair loses, the next build checks for
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = join(cacheDir, `lmdb-damaged-${stamp}`);
  const work = join(cacheDir, `lmdb-salvage-${process.pid}`);
  const fresh = join(cacheDir, `lmdb-new-${process.pid}`);
  rmSync(fresh, { recursive: true, force: true });
  let outcome: RepairOutcome;
  const why = existsSync(join(dir, 'data.mdb')) ? prepareCopy(dir, work) : 'there is no data.mdb';
  if (why) {
    outcome = { mode: 'fresh', movedAside: aside, reason: why };
  } else {
    const r = await salvage(work, fresh);
    outcome = r.ok ? { mode: 'salvaged', movedAside: aside, salvaged: r.counts } : { mode: 'fresh', movedAside: aside, reason: r.reason };
  }
  rmSync(work, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, aside);
  if (outcome.mode === 'salvaged') {
    // The fresh environment's lock file belongs to the child, which has exited.
    rmSync(join(fresh, 'lock.mdb'), { force: true });
    renameSync(fresh, dir);
  } else {
    rmSync(fresh, { recursive: true, force: true });
  }
  return outcome;
}

/** The child's side: copy what reads back whole from `from` into a new environment at `to`. */
export async function salvageChild(from: string, to: string, start?: string): Promise<SalvageCounts> {
  const { LmdbCache } = await import('./lmdb-store.ts');
  const { initHash } = await import('../hash.ts');
  await initHash();
  const src = LmdbCache.openAt(from, {});
  const dst = LmdbCache.openAt(to, {});
  try {
    const [store, range] = (start ?? '').split(':');
    return await src.salvageInto(dst, {
      from: start ? { store: store as 'blobs' | 'actions' | 'items', range: Number(range) } : undefined,
      // Progress for the parent: where to resume if a damaged page crashes this process.
      onRange: (s, i, n) => writeSync(1, `range ${s} ${i} ${n.blobs} ${n.actions} ${n.items} ${n.lost}\n`),
    });
  } finally {
    await dst.close();
    await src.close().catch(() => undefined);
  }
}

export function describeRepair(r: RepairOutcome): string {
  return r.mode === 'salvaged'
    ? `salvaged ${r.salvaged!.blobs} blob(s), ${r.salvaged!.actions} result(s), ${r.salvaged!.items} item state(s) into a fresh cache (${r.salvaged!.lost} unreadable entr${r.salvaged!.lost === 1 ? 'y' : 'ies'} left behind); the damaged one is at ${r.movedAside}`
    : `started a fresh cache (${r.reason}); the damaged one is at ${r.movedAside}`;
}

/**
 * The local tier for a build: damage found at open is refused (CACHE_DAMAGED) unless `repair`
 * (`build --repair-cache`) says to repair it first; dropped entries and damage found while
 * running become warnings.
 */
export async function openLocalForBuild(cacheDir: string, reporter: Reporter, repair = false): Promise<LmdbCacheType> {
  const { LmdbCache } = await import('./lmdb-store.ts');
  let local: LmdbCacheType;
  try {
    local = LmdbCache.open(cacheDir);
  } catch (err) {
    if (!(err instanceof RetraceError && err.code === 'CACHE_DAMAGED') || !repair) throw err;
    reporter.emit({ type: 'warn', code: 'CACHE_DAMAGED', item: err.item ?? cacheDir, message: `${err.message}; repairing it (--repair-cache)` });
    const r = await repairEnvironment(cacheDir);
    reporter.emit({ type: 'warn', code: 'CACHE_REPAIRED', item: join(cacheDir, 'lmdb'), message: describeRepair(r) });
    local = LmdbCache.open(cacheDir);
  }
  local.onDrop = (d) =>
    reporter.emit({ type: 'warn', code: 'CACHE_ENTRY_DROPPED', item: d.key.replace('\0', ' '), message: `${d.store} entry read by stage ${d.stage}${d.item ? ` (${d.item})` : ''} ${d.reason}; dropped and recomputed` });
  local.onDamaged = (reason) =>
    reporter.emit({ type: 'warn', code: 'CACHE_DAMAGED', item: local.dir, message: `${reason}; this build keeps its results in memory and repairs the cache when it ends` });
  return local;
}

/**
 * After a build: if the environment was found damaged while it ran, repair it now (salvage
 * what reads back whole, then add what this build computed), so the next build finds a sound
 * cache. If other processes still use the cache, say what to run instead.
 */
export async function healAfterBuild(local: LmdbCacheType, cacheDir: string, reporter: Reporter): Promise<void> {
  if (!local.damaged) return;
  await local.close().catch(() => undefined);
  try {
    const r = await repairEnvironment(cacheDir);
    const { LmdbCache } = await import('./lmdb-store.ts');
    const fresh = LmdbCache.open(cacheDir);
    try {
      await fresh.adopt(local.keptInMemory());
    } finally {
      await fresh.close();
    }
    reporter.emit({ type: 'warn', code: 'CACHE_REPAIRED', item: join(cacheDir, 'lmdb'), message: `${describeRepair(r)}; this build's results were added` });
  } catch (err) {
    const e = err instanceof RetraceError ? err : new RetraceError('CACHE_DAMAGED', (err as Error).message, { cause: err });
    reporter.emit({ type: 'warn', code: 'CACHE_DAMAGED', item: join(cacheDir, 'lmdb'), message: `could not repair the cache after the build: ${e.message} (${e.hint ?? 'run `retrace cache verify --repair`'})` });
  }
}
