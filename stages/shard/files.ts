/**
 * Where shard files live, and how a version folder gets them without writing their bytes again.
 *
 * The shard store `datasets/<name>/.shards/<sha256>.<ext>` holds every shard file once, under
 * its SHA-256. A worker writes a new shard there (once: a temporary name, fsync, rename); a
 * version folder gets each shard as a hard link to the store's file (a copy only where the
 * filesystem has no hard links), so the shards a one-line edit leaves unchanged are re-used from
 * the previous version without reading or encoding them. Files no version links to any more
 * (link count 1) are swept at the start of the next build that shards.
 *
 * The cache keeps what re-makes a shard, not the file: the shard stage's record (key: the exact
 * document slices and settings; output: SHA-256, size, rows, tokens, and for documents-layout
 * Parquet its row groups) whose refs are the row groups' blobs (their encoded bytes: row-group.ts)
 * or, for Arrow IPC and packed shards, the documents' token, mask and text blobs. So a hit
 * guarantees they are there and the version's closure (what `cache push/pull/export` carry, a
 * merged version's too) holds them. A version whose file is missing from the store (a fresh
 * datasets folder, a warm build from a shared cache, `merge` on another machine, a deleted or
 * damaged file) has the file laid out again from the row groups' bytes (`assemble`: a copy), or
 * encoded again from the documents' blobs (`write`); both are deterministic, and a re-made file
 * whose SHA-256 differs from the record's is an error (SHARD_MISMATCH), never a silently
 * different version.
 *
 * Hard links share one inode: a shard edited in place (not replaced) inside one version folder is
 * edited in every version that links it. `dataset verify` finds it, and `build --recheck` (or a
 * build finding a damaged file) checks the store's copy by SHA-256 before linking it.
 */
import type { MessagePort } from 'node:worker_threads';
import { closeSync, copyFileSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RetraceError } from '../../src/errors.ts';
import { sha256File } from '../../src/dataset.ts';
import type { TaskPool } from '../../src/pool.ts';
import { sweepStale, tempTag } from '../../src/temp.ts';
import type { ContentHash } from '../../src/hash.ts';
import { NOASSERTION, type DocSlice } from './plan.ts';
import { AtomicFile } from './atomic-file.ts';
import type { EncodedRowGroupResult, RowGroupTask } from './row-group-task.ts';
import type { FeedMessage, ShardTask, ShardTaskResult } from './task.ts';
import { TOKENIZE_YOUNG_GENERATION_MB } from '../tokenize/stage.ts';
import type { ParquetCompression } from './parquet-settings.ts';
import { PARQUET_MAGIC, parquetFooter, type RowGroupSizes } from './parquet-footer.ts';
import { DOCUMENTS_PARQUET } from './documents-parquet.ts';
import { lazy } from '../../src/lazy.ts';

const workerThreads = lazy<typeof import('node:worker_threads')>('node:worker_threads');

const TASK = new URL('./task.ts', import.meta.url).href;
const INCOMING = '.incoming-';

export interface ShardFileSettings {
  layout: 'documents' | 'packed';
  format: 'parquet' | 'arrow';
  compression: ParquetCompression;
  seqLen: number;
  lastPartial: 'drop' | 'pad' | 'keep';
  padId: number;
  rowGroupRows: number;
}

export interface ShardFile {
  sha256: string;
  bytes: number;
  rows: number;
  tokens: number;
  /** A Parquet shard of the documents layout: its row groups, in order (what re-makes the file). */
  groups?: RowGroupRef[];
}

const extOf = (format: 'parquet' | 'arrow') => (format === 'parquet' ? 'parquet' : 'arrow');

export class ShardStore {
  constructor(readonly dir: string) {}

  pathOf(sha256: string, format: 'parquet' | 'arrow'): string {
    return join(this.dir, `${sha256}.${extOf(format)}`);
  }

  /** The store's file for this shard when it is there with the right size (and, if `verify`, SHA-256). */
  async find(f: ShardFile, format: 'parquet' | 'arrow', verify: boolean): Promise<string | undefined> {
    const p = this.pathOf(f.sha256, format);
    let size: number;
    try {
      size = lstatSync(p).size;
    } catch {
      return undefined;
    }
    if (size === f.bytes && (!verify || (await sha256File(p)) === f.sha256)) return p;
    rmSync(p, { force: true }); // damaged: it is re-made
    return undefined;
  }

  /**
   * Removes files no version links to (link count 1) and temporary files of dead builds. A
   * concurrent build that loses a file this way between writing and linking it re-makes it.
   */
  sweep(): void {
    sweepStale(this.dir, [INCOMING]);
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      try {
        if (lstatSync(join(this.dir, n)).nlink === 1) rmSync(join(this.dir, n), { force: true });
      } catch {
        // removed meanwhile by another build's sweep
      }
    }
  }

  /**
   * Encodes one shard in a worker: its document slices are streamed to the worker one at a time
   * (`read` fetches a blob by hash); the file lands in the store under its SHA-256.
   */
  async write(
    item: string,
    slices: readonly DocSlice[],
    s: ShardFileSettings,
    last: boolean,
    pool: TaskPool,
    read: (h: ContentHash) => Promise<Uint8Array>,
    /** Called with every blob the shard is made from (the stage records them as its result's refs). */
    uses?: (bytes: Uint8Array) => Promise<unknown>,
  ): Promise<ShardFile> {
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, `${INCOMING}${tempTag()}.${extOf(s.format)}`);
    const { port1, port2 } = new (workerThreads().MessageChannel)();
    const fed = feedSlices(port1, item, slices, s.layout === 'documents', read, uses);
    try {
      const task: ShardTask = { port: port2, file: tmp, item, layout: s.layout, format: s.format, compression: s.compression, rowGroupRows: s.rowGroupRows, seqLen: s.seqLen, lastPartial: last ? s.lastPartial : 'keep', padId: s.padId };
      // The tokenizers' threads: shards follow tokenization, so a rebuild reuses threads already
      // started rather than starting a set of its own (row groups allocate large buffers too).
      const r = await pool.run<ShardTaskResult>(TASK, task, { transfer: [port2 as never], item, youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB });
      renameSync(tmp, this.pathOf(r.sha256, s.format));
      return { sha256: r.sha256, bytes: r.bytes, rows: r.rows, tokens: r.tokens };
    } finally {
      await fed.close();
      rmSync(tmp, { force: true });
    }
  }

  /**
   * Lays out a Parquet shard of the documents layout from cached row groups (row-group.ts) in the
   * store: PAR1, each row group's bytes (read by blob hash, in order), the footer computed from
   * their sizes (parquet-footer.ts), SHA-256 taken while writing. On this thread: it only copies
   * bytes and needs neither apache-arrow nor a codec; a worker would add a copy of every row group.
   */
  async assemble(item: string, groups: readonly RowGroupRef[], compression: ParquetCompression, read: (h: ContentHash) => Promise<Uint8Array>, uses?: (bytes: Uint8Array) => Promise<unknown>): Promise<ShardFile> {
    mkdirSync(this.dir, { recursive: true });
    const tmp = join(this.dir, `${INCOMING}${tempTag()}.parquet`);
    const footer = parquetFooter(DOCUMENTS_PARQUET, compression, groups);
    const file = await AtomicFile.create(tmp);
    try {
      await file.write(PARQUET_MAGIC);
      for (const g of groups) {
        const bytes = await read(g.blob);
        if (uses) await uses(bytes);
        if (bytes.byteLength !== g.bytes) throw new RetraceError('CACHE_BLOB_MISSING', `row group blob ${g.blob} has ${bytes.byteLength} bytes, its record says ${g.bytes}`, { item, hint: 'run `retrace cache verify --repair`, then build again' });
        await file.write(bytes);
      }
      await file.write(footer);
      const done = await file.commit();
      renameSync(tmp, this.pathOf(done.sha256, 'parquet'));
      return { sha256: done.sha256, bytes: done.bytes, rows: groups.reduce((n, g) => n + g.rows, 0), tokens: groups.reduce((n, g) => n + g.tokens, 0), groups: [...groups] };
    } catch (err) {
      await file.abort();
      throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

/** A cached row group as a shard record names it: its sizes and the blob holding its bytes. */
export interface RowGroupRef extends RowGroupSizes {
  tokens: number;
  blob: ContentHash;
  /** The blob's size. */
  bytes: number;
}

const ROW_GROUP_TASK = new URL('./row-group-task.ts', import.meta.url).href;

/** Encodes one row group of the documents layout in the pool: its rows are streamed as for a shard. */
export async function encodeRowGroup(pool: TaskPool, item: string, slices: readonly DocSlice[], compression: ParquetCompression, read: (h: ContentHash) => Promise<Uint8Array>): Promise<EncodedRowGroupResult> {
  const { port1, port2 } = new (workerThreads().MessageChannel)();
  const fed = feedSlices(port1, item, slices, true, read);
  try {
    const task: RowGroupTask = { port: port2, item, compression };
    return await pool.run<EncodedRowGroupResult>(ROW_GROUP_TASK, task, { transfer: [port2 as never], item, youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB });
  } finally {
    await fed.close();
  }
}

/**
 * Answers a worker's requests on `port` with the slices, one at a time and in order (`read`
 * fetches a blob by hash); `uses` is called with every blob read.
 */
function feedSlices(port: MessagePort, item: string, slices: readonly DocSlice[], withText: boolean, read: (h: ContentHash) => Promise<Uint8Array>, uses?: (bytes: Uint8Array) => Promise<unknown>): { close(): Promise<void> } {
  let at = 0;
  const send = async (): Promise<void> => {
    let msg: FeedMessage;
    try {
      const slice = slices[at++];
      if (!slice) msg = { end: true };
      else {
        const [ids, mask, text] = await Promise.all([read(slice.doc.ids), read(slice.doc.mask), withText ? read(slice.doc.text) : undefined]);
        if (uses) for (const b of text ? [ids, mask, text] : [ids, mask]) await uses(b);
        // Exactly the slice, copied into fresh buffers that are moved to the worker (a blob may be
        // a Buffer, whose slice() is a view on a larger, shared ArrayBuffer). The text goes as
        // its UTF-8 bytes, moved too, and is decoded in the worker: no string on this thread and
        // no structured-clone copy of one (memory at corpus scale, issue 17).
        const idBytes = copyOf(ids.subarray(slice.start * 4, slice.end * 4));
        const maskBytes = copyOf(mask.subarray(slice.start, slice.end));
        const textBytes = text ? copyOf(text) : new ArrayBuffer(0);
        msg = {
          slice: { id: slice.doc.id, repo: slice.doc.repo, license: slice.doc.license ?? NOASSERTION, text: textBytes, ids: idBytes, mask: maskBytes },
        };
        port.postMessage(msg, [idBytes, maskBytes, textBytes]);
        return;
      }
    } catch (err) {
      const e = err as RetraceError;
      msg = { error: { code: typeof e?.code === 'string' ? e.code : 'STAGE_FAILED', message: e?.message ?? String(err), item: e?.item ?? item, hint: e?.hint } };
    }
    port.postMessage(msg);
  };
  // Requests are answered in order: each waits for the previous answer.
  let chain = Promise.resolve();
  port.on('message', () => {
    chain = chain.then(send);
  });
  return {
    async close() {
      port.close();
      await chain;
    },
  };
}

/**
 * The bytes of a view in an ArrayBuffer of their own, to be moved to another thread. Always a
 * copy: a blob the cache hands out may still be held by it (a remote hit waiting to land locally).
 */
function copyOf(view: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(view.byteLength);
  new Uint8Array(out).set(view);
  return out;
}

/** Puts the store's file at `dest` (replacing what is there): a hard link, or a copy across filesystems. */
export function linkInto(src: string, dest: string): void {
  const tmp = `${dest}.tmp-${tempTag()}`;
  try {
    linkSync(src, tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    copyFileSync(src, tmp);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  try {
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function shardMismatch(item: string, want: ShardFile, got: ShardFile): RetraceError {
  return new RetraceError('SHARD_MISMATCH', `re-made shard has sha256 ${got.sha256.slice(0, 16)}… (${got.bytes} bytes), the cache recorded ${want.sha256.slice(0, 16)}… (${want.bytes} bytes)`, {
    item,
    hint: 'the shard writer is no longer byte-for-byte deterministic (a changed zstd/snappy binding, Parquet encoder or apache-arrow?): bump the shard stage version, or build with a new cache.salt',
  });
}
