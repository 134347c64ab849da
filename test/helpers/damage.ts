/**
 * Ways to damage a local cache (issue 18), shared by test/cache-heal*.test.ts (a few fast cases)
 * and bench/cache-damage.ts (20 random trials of each). Every kind takes a seeded random source
 * so a failing trial can be replayed.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { asBinary, open } from 'lmdb';
import { pack } from 'msgpackr';
import { BIN, ROOT } from './project.ts';

export type Rand = () => number;

/** mulberry32: a small seeded generator. */
export function seeded(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: Rand, xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

export const DAMAGE_KINDS = ['bytes8', 'bytes64', 'page-header', 'item-record', 'wrong-type', 'file-blob', 'shard-blob', 'meta', 'truncate', 'stale-lock'] as const;
export type DamageKind = (typeof DAMAGE_KINDS)[number];

/** Kinds LMDB cannot open: the documented way out is `retrace cache verify --repair`. */
export const NEEDS_REPAIR: ReadonlySet<DamageKind> = new Set(['meta', 'truncate']);

function withEnv<T>(cacheDir: string, fn: (dbs: { root: any; actions: any; blobs: any; items: any }) => T): T {
  const root = open({ path: join(cacheDir, 'lmdb'), maxDbs: 8, mapSize: 2 ** 40 });
  try {
    const actions = root.openDB({ name: 'actions', encoding: 'msgpack' });
    const blobs = root.openDB({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
    const items = root.openDB({ name: 'items', encoding: 'msgpack' });
    return fn({ root, actions, blobs, items });
  } finally {
    void root.close();
  }
}

function records(actions: any, stage?: string): Array<{ key: string; value: any }> {
  const out: Array<{ key: string; value: any }> = [];
  for (const { key, value } of actions.getRange({})) if (!stage || value?.stage === stage) out.push({ key, value });
  return out;
}

function overwrite(file: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Damage `cacheDir` in the way `kind` names; returns a line saying exactly what was done. */
export function damage(cacheDir: string, kind: DamageKind, rand: Rand, stage?: string): string {
  const file = join(cacheDir, 'lmdb', 'data.mdb');
  const size = (() => {
    const fd = openSync(file, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  })();
  const PAGE = 4096;
  switch (kind) {
    case 'bytes8':
    case 'bytes64': {
      const n = kind === 'bytes8' ? 8 : 64;
      const offset = 2 * PAGE + Math.floor(rand() * (size - 2 * PAGE - n));
      const bytes = new Uint8Array(n).map(() => Math.floor(rand() * 256));
      overwrite(file, offset, bytes);
      return `${n} random bytes at offset ${offset} of ${size}`;
    }
    case 'page-header': {
      // 8 random bytes over the header of one B-tree or overflow page: LMDB itself reports the
      // damage (MDB_CORRUPTED, MDB_PAGE_NOTFOUND, ...), not just one entry.
      const pages = Math.floor(size / PAGE);
      const page = 2 + Math.floor(rand() * (pages - 2));
      const offset = page * PAGE + Math.floor(rand() * 16);
      overwrite(file, offset, new Uint8Array(8).map(() => Math.floor(rand() * 256)));
      return `8 random bytes over the header of page ${page} (offset ${offset}) of ${pages}`;
    }
    case 'item-record':
      return withEnv(cacheDir, ({ items }) => {
        const keys = [...items.getKeys({})] as string[];
        const key = pick(rand, keys);
        const full = pack(items.get(key));
        const cut = full.subarray(0, 1 + Math.floor(rand() * (full.length - 1)));
        items.putSync(key, asBinary(cut));
        return `item ${JSON.stringify(key)} cut to ${cut.length} of ${full.length} bytes`;
      });
    case 'wrong-type':
      return withEnv(cacheDir, ({ actions }) => {
        const { key } = pick(rand, records(actions, stage));
        const value = pick(rand, [42, 'a string', ['a', 'list'], { format: 1, stage: 7 }, true, { format: 'one' }]);
        actions.putSync(key, value);
        return `record ${key} replaced by ${JSON.stringify(value)}`;
      });
    case 'file-blob':
    case 'shard-blob':
      return withEnv(cacheDir, ({ actions, blobs }) => {
        const stage = kind === 'file-blob' ? 'ingest' : 'shard';
        const recs = records(actions, stage).filter((r) => (kind === 'file-blob' ? r.value.refs.length > 0 : true));
        const { value } = pick(rand, recs);
        const hash: string = kind === 'file-blob' ? value.refs[0] : pick(rand, [value.output, ...value.refs]);
        const bytes = Buffer.from(blobs.getBinary(hash));
        const at = Math.floor(rand() * bytes.length);
        bytes[at] = bytes[at]! ^ 0x5a;
        blobs.putSync(hash, bytes);
        return `${stage} blob ${hash} (${value.item}): byte ${at} of ${bytes.length} flipped`;
      });
    case 'meta': {
      const page = rand() < 0.5 ? 0 : 1;
      const both = rand() < 0.25;
      const n = 1 + Math.floor(rand() * 16);
      const done: string[] = [];
      for (const p of both ? [0, 1] : [page]) {
        const offset = p * PAGE + 16 + Math.floor(rand() * (160 - 16 - n));
        overwrite(file, offset, new Uint8Array(n).map(() => Math.floor(rand() * 256)));
        done.push(`page ${p} offset ${offset}`);
      }
      return `${n} random bytes in meta ${done.join(' and ')}`;
    }
    case 'truncate': {
      const keep = 2 * PAGE + Math.floor(rand() * (size - 2 * PAGE));
      const fd = openSync(file, 'r+');
      try {
        ftruncateSync(fd, keep);
      } finally {
        closeSync(fd);
      }
      return `truncated to ${keep} of ${size} bytes`;
    }
    case 'stale-lock': {
      // A process that dies (SIGKILL) inside a write transaction, holding LMDB's write lock.
      const script = `
        import { open } from 'lmdb';
        const root = open({ path: ${JSON.stringify(join(cacheDir, 'lmdb'))}, maxDbs: 8, mapSize: 2 ** 40 });
        const items = root.openDB({ name: 'items', encoding: 'msgpack' });
        root.transactionSync(() => {
          for (let i = 0; i < ${1 + Math.floor(rand() * 50)}; i++) items.putSync('zz-dead-' + i, { half: 'written' });
          process.kill(process.pid, 'SIGKILL');
        });`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, timeout: 30_000 });
      return `a writer killed inside its transaction (${r.signal ?? `exit ${r.status}`})`;
    }
  }
}

export interface BuildRun {
  code: number;
  json: any;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** One `retrace` run with a hard timeout (a hang is a failure, never a stuck test). */
export function retrace(cwd: string, args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): BuildRun {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  let json: any;
  try {
    json = JSON.parse(r.stdout.trim());
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, json, stderr: r.stderr ?? '', ms: performance.now() - t0, timedOut: r.error !== undefined || r.signal === 'SIGKILL' };
}

/** A copy of a reference cache folder to damage. */
export function copyCache(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}

export function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}
