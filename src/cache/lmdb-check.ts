/**
 * The local cache treated as untrusted input (issue 18).
 *
 * - Schemas: every action record and item state read from LMDB is checked against its
 *   version-tagged shape before the executor sees it (`format: 1`); anything else is a miss.
 * - Error classes: an exception from a read is either about one entry (its bytes do not decode:
 *   drop that entry) or about the environment (LMDB reports a damaged page: stop trusting it).
 * - The environment's file, inspected before LMDB maps it: both meta pages (magic, version, page
 *   size, roots and last page within the file) and the file's length. LMDB refuses a bad magic
 *   with a bare "MDB_INVALID"; a truncated file makes it read past the end of the mapping (SIGBUS,
 *   the process dies). Both are caught here, with a way out.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isContentHash } from '../hash.ts';
import type { ActionRecord, ItemState } from './cache.ts';

const HEX32 = /^[0-9a-f]{32}$/;

function isParts(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  const p = v as Record<string, unknown>;
  return typeof p.stage === 'string' && typeof p.version === 'string' && !!p.inputs && typeof p.inputs === 'object' && !!p.settings && typeof p.settings === 'object';
}

/** Why `v` is not an ActionRecord of format 1, or undefined when it is one. */
export function actionRecordProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `is a ${Array.isArray(v) ? 'list' : typeof v}, not a record`;
  const r = v as Record<string, unknown>;
  if (r.format !== 1) return `has record format ${JSON.stringify(r.format)} (this Retrace reads format 1)`;
  if (typeof r.stage !== 'string' || typeof r.item !== 'string') return 'has no stage or item name';
  if (typeof r.output !== 'string' || !isContentHash(r.output)) return 'has no valid output hash';
  if (!Array.isArray(r.refs) || !r.refs.every((x) => typeof x === 'string' && isContentHash(x))) return 'has invalid refs';
  if (!isParts(r.parts)) return 'has invalid key parts';
  for (const f of ['ms', 'createdAt', 'usedAt']) if (typeof r[f] !== 'number' || !Number.isFinite(r[f])) return `has an invalid ${f}`;
  return undefined;
}

export function isActionRecord(v: unknown): v is ActionRecord {
  return actionRecordProblem(v) === undefined;
}

/** Item states written since issue 18 carry `format: 1`; older ones (no tag) have the same shape. */
export function itemStateProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `is a ${Array.isArray(v) ? 'list' : typeof v}, not an item state`;
  const s = v as Record<string, unknown>;
  if (s.format !== undefined && s.format !== 1) return `has item format ${JSON.stringify(s.format)} (this Retrace reads format 1)`;
  if (typeof s.stage !== 'string' || typeof s.item !== 'string') return 'has no stage or item name';
  if (typeof s.key !== 'string' || !HEX32.test(s.key) || typeof s.output !== 'string' || !isContentHash(s.output)) return 'has an invalid key or output';
  if (!isParts(s.parts) || typeof s.builtAt !== 'number') return 'has invalid key parts';
  if (s.previous !== undefined) {
    const p = s.previous as Record<string, unknown> | null;
    if (!p || typeof p !== 'object' || typeof p.key !== 'string' || !HEX32.test(p.key) || !isParts(p.parts) || typeof p.output !== 'string') return 'has an invalid previous key';
  }
  return undefined;
}

export function isItemState(v: unknown): v is ItemState {
  return itemStateProblem(v) === undefined;
}

/**
 * LMDB's own error codes (MDB_CORRUPTED, MDB_PAGE_NOTFOUND, ...) and the messages lmdb-js wraps
 * them in: the environment is damaged, not just one entry.
 */
export function isEnvironmentError(err: unknown): boolean {
  const e = err as { message?: unknown; code?: unknown } | undefined;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'number' && e.code <= -30780 && e.code >= -30800) return true;
  return /MDB_[A-Z_]+|mdb_[a-z_]+|Invalid argument|Input\/output error|Bus error|No space left|Resource temporarily unavailable/.test(msg);
}

export interface EnvProblem {
  kind: 'meta' | 'truncated' | 'not-lmdb';
  message: string;
}

export interface MetaInfo {
  page: 0 | 1;
  valid: boolean;
  problem?: string;
  pageSize: number;
  lastPage: bigint;
  txnId: bigint;
}

const MAGIC = 0xbeefc0de;
/** Layout of lmdb-js's LMDB (the 1.0 "master3" data format, version 2): a 24-byte page header. */
const META = { magic: 24, version: 28, pageSize: 48, freeRoot: 88, mainRoot: 136, lastPage: 144, txnId: 152, end: 160 };
const P_INVALID = 0xffffffffffffffffn;

function readMeta(buf: Buffer, page: 0 | 1, fileSize: number): MetaInfo {
  const info: MetaInfo = { page, valid: false, pageSize: 0, lastPage: 0n, txnId: 0n };
  if (buf.length < META.end) return { ...info, problem: 'the meta page is cut off' };
  if (buf.readBigUInt64LE(0) !== BigInt(page)) return { ...info, problem: `the page header says page ${buf.readBigUInt64LE(0)}` };
  if (buf.readUInt32LE(META.magic) !== MAGIC) return { ...info, problem: 'bad magic number' };
  const version = buf.readUInt32LE(META.version);
  if (version !== 2) return { ...info, problem: `data format version ${version}` };
  const pageSize = buf.readUInt32LE(META.pageSize);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return { ...info, problem: `page size ${pageSize}` };
  const lastPage = buf.readBigUInt64LE(META.lastPage);
  const txnId = buf.readBigUInt64LE(META.txnId);
  const out = { ...info, pageSize, lastPage, txnId };
  if (lastPage < 1n) return { ...out, problem: `last page ${lastPage}` };
  let highestRoot = 1n;
  for (const [name, off] of [['main root', META.mainRoot], ['free-list root', META.freeRoot]] as const) {
    const root = buf.readBigUInt64LE(off);
    if (root !== P_INVALID && (root < 2n || root > lastPage)) return { ...out, problem: `${name} page ${root} outside pages 2..${lastPage}` };
    if (root !== P_INVALID && root > highestRoot) highestRoot = root;
  }
  // The file may legitimately end before `lastPage`: pages a transaction allocated and freed
  // again before committing are counted but never written (a gc leaves such a tail). The root
  // pages are read first and, written last (copy-on-write), sit near the end: a truncation that
  // cuts into the data cuts them off.
  if (BigInt(fileSize) < (highestRoot + 1n) * BigInt(pageSize)) {
    return { ...out, problem: `the file is ${fileSize} bytes but this meta page's root page ${highestRoot} needs ${(highestRoot + 1n) * BigInt(pageSize)}` };
  }
  return { ...out, valid: true };
}

/** Both meta pages of data.mdb (page size from the first readable one, 4096 by default). */
export function readMetas(file: string): { size: number; metas: MetaInfo[] } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const first = Buffer.alloc(META.end);
    readSync(fd, first, 0, META.end, 0);
    const ps0 = first.readUInt32LE(META.pageSize);
    const pageSize = ps0 >= 512 && ps0 <= 65536 && (ps0 & (ps0 - 1)) === 0 ? ps0 : 4096;
    const second = Buffer.alloc(META.end);
    const n = size >= pageSize ? readSync(fd, second, 0, META.end, pageSize) : 0;
    return { size, metas: [readMeta(first, 0, size), readMeta(second.subarray(0, n), 1, size)] };
  } finally {
    closeSync(fd);
  }
}

/**
 * What LMDB would trip over in `dir`'s data.mdb, before it maps it. LMDB reads the meta page with
 * the higher transaction id; if either page is damaged we cannot know which one that would be,
 * so any damaged meta page is a damaged environment (repair recovers from the good one).
 */
export function inspectEnvironment(dir: string): EnvProblem | undefined {
  const file = join(dir, 'data.mdb');
  if (!existsSync(file)) return undefined;
  if (statSync(file).size === 0) return undefined; // never written: LMDB initialises it
  const { size, metas } = readMetas(file);
  if (metas.every((m) => m.problem === 'bad magic number' || m.problem?.startsWith('the page header'))) {
    return { kind: 'not-lmdb', message: `${file} is not an LMDB file (both meta pages unreadable: ${metas.map((m) => m.problem).join('; ')})` };
  }
  const bad = metas.filter((m) => !m.valid);
  if (bad.length === 0) return undefined;
  if (bad.some((m) => m.problem?.startsWith('the file is'))) {
    const m = bad.find((x) => x.problem?.startsWith('the file is'))!;
    return { kind: 'truncated', message: `${file} is truncated: ${m.problem}` };
  }
  return { kind: 'meta', message: `${file} has a damaged meta page: ${bad.map((m) => `page ${m.page}: ${m.problem}`).join('; ')} (file ${size} bytes)` };
}

/** Other live processes that have this environment open (Linux: their open lock.mdb). */
export function otherUsers(dir: string): number[] {
  const lock = join(dir, 'lock.mdb');
  const pids: number[] = [];
  let procs: string[];
  try {
    procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return pids;
  }
  for (const pid of procs) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === lock) {
          pids.push(Number(pid));
          break;
        }
      } catch {
        // the process or descriptor went away
      }
    }
  }
  return pids;
}
