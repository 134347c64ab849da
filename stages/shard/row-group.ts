/**
 * row-group: one row group of a Parquet shard of the documents layout, encoded once and cached by
 * content (issue 17: a one-line edit costs what it changes). The shard stage plans a shard's row
 * groups (plan.ts planRowGroups), runs this stage for each, and lays the file out from their bytes
 * (files.ts ShardStore.assemble): a shard holding an edited document re-encodes the one row
 * group holding it, and copies the others from the cache.
 *
 * Key: the row group's documents (id, repo, license and the text, ids and mask blobs) and what
 * shapes the bytes (compression, zstd level, page size). Output: rows, tokens, each column
 * chunk's sizes, and the blob holding the column chunks' bytes (the record's ref), which are
 * position independent: absolute offsets live only in the file's footer (parquet.ts).
 * Encoded in a worker thread; the bytes come back to this thread once, to be stored.
 */
import { defineStage } from '../../src/stage.ts';
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { encodeRowGroup, type RowGroupRef } from './files.ts';
import { NOASSERTION, type DocSlice } from './plan.ts';
import { PAGE_BYTES, ZSTD_LEVEL, type ParquetCompression } from './parquet-settings.ts';

export interface RowGroupInput {
  /** Whole documents, in the shard's order. */
  slices: DocSlice[];
  compression: ParquetCompression;
}

/** A document slice's identity in a key: what the rows it gives are made of. */
export const sliceIdentity = (x: DocSlice) => [x.doc.id, x.doc.repo, x.doc.license ?? NOASSERTION, x.doc.text, x.doc.ids, x.doc.mask, x.start, x.end];

export const rowGroupStage = defineStage<RowGroupInput, RowGroupRef>({
  name: 'row-group',
  version: '1',
  deps: ['tokenize'],
  description: "one Parquet row group of a documents shard (its column chunks' bytes), encoded in a worker thread, cached by content",
  item: (i) => `row group ${i.slices[0]?.doc.id ?? '(empty)'}`,
  key: (i) => ({
    inputs: { content: hashText(canonicalJson(i.slices.map(sliceIdentity))) },
    settings: { format: 'parquet', layout: 'documents', compression: i.compression, ...(i.compression === 'zstd' ? { zstdLevel: ZSTD_LEVEL } : {}), pageBytes: PAGE_BYTES },
  }),
  run: async (i, ctx) => {
    const r = await encodeRowGroup(ctx.pool, ctx.item, i.slices, i.compression, (h) => ctx.getBlob(h));
    const blob = await ctx.putBlob(r.bytes);
    return { rows: r.rows, tokens: r.tokens, chunks: r.chunks, blob, bytes: r.bytes.byteLength };
  },
});
