import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import { loadReferenceTokenizer } from './helpers/reference-tokenizer.ts';
import { CORPUS_PACKAGES, corpusFiles } from './fixtures/tokenizer/corpus.ts';

test('every .js/.mjs/.cjs file of the embedded corpus: identical ids to the reference', async () => {
  const ours = await loadLlama3Tokenizer();
  const reference = await loadReferenceTokenizer();
  try {
    const files = corpusFiles();
    assert.ok(files.length > 100, `only ${files.length} files in ${CORPUS_PACKAGES.join(', ')}`);
    const mismatched = files.filter(({ text }) => {
      const got = ours.encodeOrdinary(text);
      const want = reference.encodeOrdinary(text);
      return got.length !== want.length || got.some((id, i) => id !== want[i]);
    });
    assert.equal(mismatched.map((f) => f.path), []);
  } finally {
    reference.free();
  }
});

test.run();
