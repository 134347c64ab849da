/**
 * ingest: one item per source file. Its key is the file's content hash and path, so a changed
 * file re-runs exactly its own item; the output records the file in the content store (the
 * bytes become a reference of the result, which keeps them alive in the cache).
 */
import { defineStage } from '../../src/stage.ts';
import type { ContentHash } from '../../src/hash.ts';

export interface IngestInput {
  repo: string;
  path: string;
  bytes: Uint8Array;
  hash: ContentHash;
}

export interface IngestedFile {
  path: string;
  hash: ContentHash;
  size: number;
  lines: number;
}

export const ingestStage = defineStage<IngestInput, IngestedFile>({
  name: 'ingest',
  version: '1',
  deps: [],
  description: 'one item per source file: store its bytes by content hash, count its lines',
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({ inputs: { content: i.hash }, settings: { path: i.path } }),
  async run(i, ctx) {
    const hash = await ctx.putBlob(i.bytes);
    let lines = i.bytes.length > 0 ? 1 : 0;
    for (let k = 0; k < i.bytes.length; k++) if (i.bytes[k] === 10 && k < i.bytes.length - 1) lines++;
    return { path: i.path, hash, size: i.bytes.length, lines };
  },
});
