/**
 * shard: one item per output file. The plan (which documents, or which token range of the
 * concatenated documents, go into which shard) is computed on the main thread from token counts
 * alone; each shard's key lists exactly the content it holds, so a changed document re-writes
 * only the shards it falls into. The file's bytes are stored in the cache like any artifact.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStage, type StageContext } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import type { OutputShard } from '../../src/pipeline.ts';
import { idsFromBlob, type TokenizedRef } from '../tokenize/stage.ts';
import type { ParquetCompression } from './writers.ts';
import type { TokenizedDoc } from './layout.ts';

export interface ShardSettings {
  layout: 'documents' | 'packed';
  format: 'parquet' | 'arrow';
  compression: ParquetCompression;
  seqLen: number;
  lastPartial: 'drop' | 'pad' | 'keep';
  padId: number;
  shardTokens: number;
  rowGroupRows: number;
}

/** The license column's value when no license was found (SPDX's term). */
export const NOASSERTION = 'NOASSERTION';

/** A slice [start, end) of one document's tokens. */
export interface DocSlice {
  /** With the repository's license (the shard's `license` column), set when the build assembles. */
  doc: TokenizedRef & { license?: string };
  start: number;
  end: number;
}

export interface ShardInput {
  index: number;
  slices: DocSlice[];
  /** True for the last shard of a packed layout: it handles the partial sequence. */
  last: boolean;
  settings: ShardSettings;
}

export function shardFileName(index: number, settings: ShardSettings): string {
  return `shard-${String(index).padStart(5, '0')}.${settings.format === 'parquet' ? 'parquet' : 'arrow'}`;
}

/** Stable 32-bit hash of a document id, for content-defined shard boundaries. */
function idBits(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Documents layout: whole documents, in order. A shard closes at a content-defined boundary
 * (after a document whose id hash has its low 3 bits zero, once the shard holds a quarter of the
 * target) or when it reaches the target, so one document growing or shrinking moves at most the
 * boundaries near it, not every boundary after it.
 */
export function planDocumentShards(docs: TokenizedRef[], s: ShardSettings): DocSlice[][] {
  const shards: DocSlice[][] = [];
  let cur: DocSlice[] = [];
  let acc = 0;
  for (const doc of docs) {
    cur.push({ doc, start: 0, end: doc.tokens });
    acc += doc.tokens;
    if (acc >= s.shardTokens || (acc >= s.shardTokens / 4 && (idBits(doc.id) & 7) === 0)) {
      shards.push(cur);
      cur = [];
      acc = 0;
    }
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}

/** Packed layout: shard k holds sequences [k*S, (k+1)*S) of the concatenated token stream. */
export function planPackedShards(docs: TokenizedRef[], s: ShardSettings): DocSlice[][] {
  const perShard = Math.max(1, Math.floor(s.shardTokens / s.seqLen)) * s.seqLen;
  const shards: DocSlice[][] = [];
  let cur: DocSlice[] = [];
  let room = perShard;
  for (const doc of docs) {
    let start = 0;
    while (start < doc.tokens) {
      const take = Math.min(room, doc.tokens - start);
      cur.push({ doc, start, end: start + take });
      start += take;
      room -= take;
      if (room === 0) {
        shards.push(cur);
        cur = [];
        room = perShard;
      }
    }
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}

async function loadSlice(ctx: StageContext, slice: DocSlice, withText: boolean): Promise<TokenizedDoc> {
  const ids = idsFromBlob(await ctx.getBlob(slice.doc.ids));
  const mask = await ctx.getBlob(slice.doc.mask);
  const text = withText ? new TextDecoder().decode(await ctx.getBlob(slice.doc.text)) : '';
  return { id: slice.doc.id, repo: slice.doc.repo, license: slice.doc.license ?? NOASSERTION, text, inputIds: ids.subarray(slice.start, slice.end), lossMask: mask.subarray(slice.start, slice.end) };
}

export const shardStage = defineStage<ShardInput, OutputShard>({
  name: 'shard',
  version: '1',
  deps: ['tokenize'],
  description: 'Parquet or Arrow IPC shard files (documents or packed sequences)',
  item: (i) => shardFileName(i.index, i.settings),
  key: (i) => {
    const s = i.settings;
    const layoutSettings = s.layout === 'packed' ? { seqLen: s.seqLen, lastPartial: i.last ? s.lastPartial : 'n/a', padId: s.padId } : {};
    return {
      inputs: { content: hashText(canonicalJson(i.slices.map((x) => [x.doc.id, x.doc.repo, x.doc.license ?? NOASSERTION, x.doc.text, x.doc.ids, x.doc.mask, x.start, x.end]))) },
      settings: { file: shardFileName(i.index, s), layout: s.layout, format: s.format, compression: s.format === 'parquet' ? s.compression : 'none', rowGroupRows: s.rowGroupRows, ...layoutSettings },
    };
  },
  async run(i, ctx) {
    // Loaded on first use: Arrow and the Parquet WASM module cost ~0.4 s to import, which a
    // no-op build (every shard cached) should not pay.
    const [{ openShardWriter }, { SequencePacker }] = await Promise.all([import('./writers.ts'), import('./pack.ts')]);
    const s = i.settings;
    const name = shardFileName(i.index, s);
    const dir = mkdtempSync(join(tmpdir(), 'retrace-shard-'));
    try {
      const file = join(dir, name);
      const common = { file, rowGroupRows: s.rowGroupRows, ...(s.format === 'parquet' ? { format: 'parquet' as const, compression: s.compression } : { format: 'arrow' as const }) };
      let info;
      if (s.layout === 'documents') {
        const w = await openShardWriter({ ...common, layout: 'documents' });
        for (const slice of i.slices) await w.append([await loadSlice(ctx, slice, true)]);
        info = await w.close();
      } else {
        const w = await openShardWriter({ ...common, layout: 'packed' });
        const packer = new SequencePacker({ seqLen: s.seqLen, lastPartial: i.last ? s.lastPartial : 'keep', padId: s.padId });
        for (const slice of i.slices) {
          packer.push(await loadSlice(ctx, slice, false));
          for (let seq = packer.pull(); seq; seq = packer.pull()) await w.append([seq]);
        }
        packer.finish();
        for (let seq = packer.pull(); seq; seq = packer.pull()) await w.append([seq]);
        info = await w.close();
      }
      const blob: ContentHash = await ctx.putBlob(readFileSync(file));
      return { file: name, blob, sha256: info.sha256, bytes: info.bytes, rows: info.rows, tokens: info.tokens };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
