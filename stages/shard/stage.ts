/**
 * shard: one item per output file. The plan (plan.ts: which documents, or which token range of
 * the concatenated documents, go into which shard) is computed on the main thread from token
 * counts and document ids alone. Each shard's key lists exactly the content it holds and the
 * settings that shape its bytes, never its position, so a shard whose documents did not change
 * is a cache hit wherever it lands in the version, and a changed document re-writes only the
 * shard holding it. A Parquet shard of the documents layout is cut into row groups the same way
 * (plan.ts planRowGroups), each an item of the row-group stage (row-group.ts: encoded in a worker,
 * its bytes cached), and the file is laid out from their bytes on this thread, so a changed
 * document re-encodes only its row group. Other shards (Arrow IPC, packed) are encoded whole in
 * worker threads, in parallel, their rows streamed to the worker one document at a time. The file
 * is written once, into the dataset's shard store, and linked into the version folder (files.ts).
 * The cache record holds the file's SHA-256, size, rows and tokens (what the manifest needs, and
 * what a re-made file is checked against) and its row groups (what re-makes it by copying).
 */
import { join } from 'node:path';
import pLimit from 'p-limit';
import { defineStage } from '../../src/stage.ts';
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import type { OutputShard, PipelineRun } from '../../src/pipeline.ts';
import type { TokenizedRef } from '../tokenize/stage.ts';
import { ShardStore, linkInto, shardMismatch, type ShardFile, type ShardFileSettings } from './files.ts';
import { planDocumentShards, planPackedShards, planRowGroups, rowGroupTarget, type DocSlice } from './plan.ts';
import { rowGroupStage, sliceIdentity, type RowGroupInput } from './row-group.ts';
import type { RowGroupRef } from './files.ts';

export { planDocumentShards, planPackedShards, planRowGroups, docOrder, shardBounds, NOASSERTION, type DocSlice } from './plan.ts';

export interface ShardSettings extends ShardFileSettings {
  shardTokens: number;
}

export interface ShardInput {
  slices: DocSlice[];
  /** True for the last shard of a packed layout: it handles the partial sequence. */
  last: boolean;
  settings: ShardSettings;
  /** Where the file is written (not part of the key: the store only holds files by SHA-256). */
  store: ShardStore;
  /** Runs one row group through the row-group stage (the stage context has no executor). */
  rowGroup: (input: RowGroupInput) => Promise<RowGroupRef>;
}

/**
 * Parquet shards of the documents layout are laid out from cached row groups (row-group.ts);
 * Arrow IPC shards and the packed layout are encoded whole in a worker (task.ts): a packed
 * shard's sequences cross document boundaries, so an edit moves every later row anyway.
 */
export const fromRowGroups = (s: Pick<ShardSettings, 'layout' | 'format'>): boolean => s.layout === 'documents' && s.format === 'parquet';

/** A shard's item name: its first document (and where in it a packed shard starts), not its position. */
export function shardItem(slices: readonly DocSlice[]): string {
  const first = slices[0];
  if (!first) return 'shard (empty)';
  return `shard ${first.doc.id}${first.start > 0 ? `@${first.start}` : ''}`;
}

/**
 * The name a shard is published under in the version folder: the Hugging Face layout
 * `data/train-00000-of-00002.parquet`, which `datasets`, pyarrow (`<version>/data`) and DuckDB
 * (`<version>/data/*.parquet`) read as one split. Names are given at publication only: the cache
 * item and the stored file know nothing of the count or the position, so adding a shard re-writes
 * no other shard's bytes; only the manifest (and so the version id) changes with the names.
 */
export function publishedShardName(index: number, count: number, settings: Pick<ShardSettings, 'format'>): string {
  const n = (k: number) => String(k).padStart(5, '0');
  return `data/train-${n(index)}-of-${n(count)}.${settings.format === 'parquet' ? 'parquet' : 'arrow'}`;
}

export const shardStage = defineStage<ShardInput, ShardFile>({
  name: 'shard',
  // 2: position-free keys, identity order, content-defined boundaries, parquet without dictionaries;
  // 3: nor statistics; 4: the documents' blobs are the record's refs; 5: our own Parquet encoder
  // (parquet.ts) instead of parquet-wasm: same schema and rows, other bytes; 6: documents-layout
  // Parquet laid out from content-defined row groups (row-group stage), whose blobs are the refs.
  version: '6',
  deps: ['tokenize', 'row-group'],
  description: 'Parquet or Arrow IPC shard files (documents or packed sequences): documents-layout Parquet laid out from cached row groups, the rest encoded in worker threads',
  item: (i) => shardItem(i.slices),
  key: (i) => {
    const s = i.settings;
    const layoutSettings = s.layout === 'packed' ? { seqLen: s.seqLen, lastPartial: i.last ? s.lastPartial : 'n/a', padId: s.padId } : {};
    const groupSettings = fromRowGroups(s) ? { rowGroupTokens: rowGroupTarget(s.shardTokens) } : {};
    return {
      inputs: { content: hashText(canonicalJson(i.slices.map(sliceIdentity))) },
      settings: { layout: s.layout, format: s.format, compression: s.format === 'parquet' ? s.compression : 'none', rowGroupRows: s.rowGroupRows, ...layoutSettings, ...groupSettings },
    };
  },
  // What re-makes the file becomes the record's refs, so it travels with it (cache push/pull/export):
  // the row groups' blobs, or else the documents' blobs.
  run: async (i, ctx) => {
    if (!fromRowGroups(i.settings)) return i.store.write(ctx.item, i.slices, i.settings, i.last, ctx.pool, (h) => ctx.getBlob(h), (b) => ctx.putBlob(b));
    const groups = await Promise.all(planRowGroups(i.slices, i.settings).map((slices) => i.rowGroup({ slices, compression: i.settings.compression })));
    return i.store.assemble(ctx.item, groups, i.settings.compression, (h) => ctx.getBlob(h), (b) => ctx.putBlob(b));
  },
});

export interface WrittenShards {
  shards: OutputShard[];
  /** Puts a published shard's file at `dest`: linked from the store, or re-made from the cache. */
  place(shard: OutputShard, dest: string, verify: boolean): Promise<void>;
  /**
   * Once the version is written: sweeps store files no version links any more, and returns the
   * shard files encoded by this build (`shardsWritten`) and re-used (`shardsReused`).
   */
  finish(): { shardsWritten: number; shardsReused: number };
}

/**
 * Plans and writes the shards of a version: in parallel (as many at once as the pool has
 * threads), each a cache item; returns them under their published names, in plan order.
 */
export async function writeShards(run: PipelineRun, docs: Array<TokenizedRef & { license: string }>, out: ShardSettings): Promise<WrittenShards> {
  const store = new ShardStore(join(run.outDir, run.loaded.config.name, '.shards'));
  const plan = out.layout === 'packed' ? planPackedShards(docs, out) : planDocumentShards(docs, out);
  run.reporter.emit({ type: 'phase', name: 'sharding', detail: `${plan.length} shard(s)` });
  run.reporter.emit({ type: 'plan', unit: 'shard', total: plan.length });
  const rowGroup = async (input: RowGroupInput) => (await run.exec.run(rowGroupStage, input)).value;
  const inputs: ShardInput[] = plan.map((slices, k) => ({ slices, last: k === plan.length - 1, settings: out, store, rowGroup }));
  // Every parse and tokenize task is done: their threads (vocabulary, tree-sitter's WASM memory,
  // grown heaps) are let go rather than kept idle beside the shard encoders; shards start fresh ones.
  await run.pool.trim?.();
  let written = 0;
  const limit = pLimit(Math.max(1, run.pool.threads));
  const files = await Promise.all(
    inputs.map((input) =>
      limit(async () => {
        const r = await run.exec.run(shardStage, input);
        if (!r.cached) written++;
        run.reporter.emit({ type: 'progress', unit: 'shard' });
        return r.value;
      }),
    ),
  );
  const fileOf = new Map(files.map((f, k) => [publishedShardName(k, files.length, out), f]));
  const shards: OutputShard[] = files.map((f, k) => ({ file: publishedShardName(k, files.length, out), sha256: f.sha256, bytes: f.bytes, rows: f.rows, tokens: f.tokens }));
  const inputOf = new Map(shards.map((s, k) => [s.file, inputs[k]!]));
  return {
    shards,
    async place(shard, dest, verify) {
      const input = inputOf.get(shard.file);
      if (!input) throw new Error(`no shard planned as ${shard.file}`);
      // A concurrent build's sweep may remove the store's file between finding and linking it: once more, re-made.
      for (let attempt = 0; ; attempt++) {
        let src = await store.find(shard, out.format, verify);
        if (!src) {
          const item = shardItem(input.slices);
          const groups = fileOf.get(shard.file)?.groups;
          // From the record's row groups when it has them (a copy of cached bytes), else encoded again.
          const got = groups && fromRowGroups(out) ? await store.assemble(item, groups, out.compression, (h) => run.blobs.get(h)) : await store.write(item, input.slices, out, input.last, run.pool, (h) => run.blobs.get(h));
          written++;
          if (got.sha256 !== shard.sha256 || got.bytes !== shard.bytes) throw shardMismatch(item, shard, got);
          src = store.pathOf(got.sha256, out.format);
        }
        try {
          linkInto(src, dest);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw err;
        }
      }
    },
    finish: () => {
      store.sweep();
      return { shardsWritten: written, shardsReused: Math.max(0, shards.length - written) };
    },
  };
}
