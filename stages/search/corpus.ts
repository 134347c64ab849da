/**
 * search-corpus: the offline scorer's background model for one repository, the unigram counts
 * of its code files (offline-lm.ts subtracts the scored file's own counts). Keyed by the files'
 * content hashes, so a rebuild reads no file for it.
 */
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import { unigramOf, type UnigramTable } from './offline-lm.ts';

export interface CorpusInput {
  repo: string;
  /** The repository's code files. */
  files: Array<{ path: string; hash: ContentHash }>;
}

const decoder = new TextDecoder();

export const searchCorpusStage = defineStage<CorpusInput, UnigramTable>({
  name: 'search-corpus',
  version: '1',
  deps: ['ingest'],
  description: "the offline scorer's background unigram of a repository's code files",
  item: (i) => i.repo,
  key: (i) => ({ inputs: { files: hashText(canonicalJson(i.files.map((f) => f.hash).sort())) }, settings: {} }),
  async run(i, ctx) {
    const texts: string[] = [];
    for (const f of i.files) texts.push(decoder.decode(await ctx.getBlob(f.hash)));
    return unigramOf(texts);
  },
});
