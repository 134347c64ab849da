/**
 * Piecewise tokenization (stages/tokenize/pieces.ts): ids and masks of a document tokenized in
 * pieces equal one task over the whole document and the reference (tiktoken WASM), on real
 * files (JS of the embedded corpus, @types/node's .d.ts, CRLF copies) and adversarial text, with
 * pieces forced small (64 bytes, or 1 byte: a cut at every safe place) so there are many cuts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizeTask, { type TokenizeResult, type TokenizeTask } from '../stages/tokenize/task.ts';
import { isSafeCut, planCuts, PIECE_BYTES, tokenizePiecewise } from '../stages/tokenize/pieces.ts';
import { tokenizeStage, idsFromBlob } from '../stages/tokenize/stage.ts';
import { splitRegExp } from '../stages/tokenize/pretokenize.ts';
import { PiscinaPool, type TaskPool } from '../src/pool.ts';
import { hashBytes, initHash, type ContentHash } from '../src/hash.ts';
import type { StageContext } from '../src/stage.ts';
import { loadReferenceTokenizer } from './helpers/reference-tokenizer.ts';
import { corpusFiles } from './fixtures/tokenizer/corpus.ts';
import { adversarialTexts, minified, rng } from './fixtures/tokenizer/adversarial.ts';

const BOS = 128000;
const EOS = 128001;
const enc = new TextEncoder();
const reference = await loadReferenceTokenizer();
test.after(() => reference.free());
await initHash();


/** @types/node's declaration files (a devDependency): real TypeScript. */
function dtsText(limit: number): string {
  const dir = fileURLToPath(new URL('../node_modules/@types/node/', import.meta.url));
  const parts: string[] = [];
  let size = 0;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.d.ts')).sort()) {
    if (size >= limit) break;
    const text = readFileSync(join(dir, name), 'utf8');
    parts.push(text);
    size += text.length;
  }
  return parts.join('\n');
}

const crlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

const JS = corpusFiles().map((f) => f.text).join('\n');
const TS = dtsText(1_000_000);

/** Text built from atoms that stress every regex alternative at every cut rule. */
function fuzz(length: number, seed: number): string {
  const next = rng(seed);
  const atoms = [
    'a', 'Z', 'word', 'camelCase', 'x1', '1x', '7', '42', '123', '1234567', '9'.repeat(20), '٣٤', '２', '\u{11DE0}\u{11DE1}',
    ' ', '  ', '\t', ' \t ', '\u00a0', '\u3000', '\u0085', '\u2028', '\r', '\n', '\r\n', '\n\r', '\r\r\n', '\n\n\n', ' \n', '\t\r\n ',
    "'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'D", "'", "''", 'it', "don't", "WE'LL", "it's", '’s',
    '.', ',', ';', '(', ')', '{', '}', '=>', '===', '/*', '*/', '//', '"', '`', '$', '_', '-', '+', '#', '@', '\\', '|',
    '中文', '日本語', 'ひらがな', '한국어', '😀', '👨‍👩‍👧', '🇫🇷', '1️⃣', 'e\u0301', 'a\u0308\u0301', 'עברית', 'مرحبا', '\u200f', '\u202e',
    'é', 'ß', 'İ', 'ſ', '\ufeff', '\u200b', '\ue000', '\u{10fffd}', '\ufdd0', '\uffff', '\u{1fffe}', '\u0000', '\u007f', '\u001f',
    '<|end_of_text|>', '<|begin_of_text|>', '<|eot_id|>', '<|reserved_special_token_5|>', '<|start_header_id|>',
  ];
  let s = '';
  while (s.length < length) s += atoms[Math.floor(next() * atoms.length)];
  return s;
}

/** New adversarial texts, on top of the fixture's set. */
function moreAdversarial(): Record<string, string> {
  const digits: string[] = [];
  for (let n = 1; n <= 50; n++) digits.push(`x${'7'.repeat(n)}y`, `${'1234567890'.repeat(5).slice(0, n)}.`, `a${'3'.repeat(n)}\r\n`);
  return {
    '100 KB without spaces': minified(100_000, 7),
    'long digit runs': digits.join('') + '1234567890'.repeat(2_000) + 'z' + '0'.repeat(5_000) + ';',
    'long whitespace runs': ' '.repeat(2_000) + 'x' + '\t \t'.repeat(500) + '\n' + ' \n'.repeat(2_000) + '   \r\n'.repeat(500) + 'y' + ' '.repeat(2_000) + 'z',
    'CRLF mix': Array.from({ length: 3_000 }, (_, k) => ['\r\n', '\n', '\r', '\n\r', '\r\r\n', ' \r\n', '\r\n\r\n'][k % 7] + ['a', '}', '1', ' b', "'s", '\tc', '中'][k % 5]).join(''),
    'lone CR': 'a\rb\r\rc\r d\r\t e\r}\r1\r\'s\r'.repeat(500),
    'CJK, emoji, combining, RTL': ('中文文本，没有空格。日本語のテキスト「こんにちは」。한국어 텍스트.\n'
      + '😀😂👍🏽👨‍👩‍👧‍👦🏳️‍🌈🇯🇵#️⃣ e\u0301e\u0301e\u0301 a\u0308\u0301x \u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd العربية 123 \u202eabc\u202c\n').repeat(300),
    'line ends before non-ASCII': ['\u0085', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u200b', '\u2028', '\u2029', '\u202f',
      '\u205f', '\u3000', '\u3001', '\ufeff', '中', 'é', '😀', '\u0301', '٣', '\u{11DE0}', '\u00ad', '\u0080', '\u2060']
      .map((c) => `a\n${c}b\r${c}c\r\n${c}${c}d\n${c}\n`).join('').repeat(200),
    'odd code points': ('a\ufdd0b\uffffc\u{1fffe}d\ue000e\u{10fffd}f\u{11DE0}1\u{16FF4}2\u00ad3\u200b4\ufeff5\u0085\u2028\u2029x\n').repeat(500),
    'contractions at cuts': "it's IT'S we'll WE'LL they're THEY'RE I'd i'D you've YOU'VE I'm i'M don't x'S 1's a''s 's\n".repeat(500),
    'special-token text': '<|begin_of_text|>x<|end_of_text|>\n<|eot_id|>a<|reserved_special_token_250|>1<|end_of_text|>\r\n'.repeat(500),
    'fuzz 1': fuzz(30_000, 1),
    'fuzz 2': fuzz(30_000, 2),
    'fuzz 3': fuzz(30_000, 3),
  };
}

/** Sorted, disjoint random byte spans anywhere in the text (not only at token edges). */
function randomSpans(bytes: number, seed: number): Array<[number, number]> {
  const next = rng(seed);
  const points = Array.from({ length: Math.min(200, bytes) }, () => Math.floor(next() * (bytes + 1))).sort((a, b) => a - b);
  const spans: Array<[number, number]> = [];
  for (let k = 0; k + 1 < points.length; k += 2) if (points[k] < points[k + 1]) spans.push([points[k], points[k + 1]]);
  return spans;
}

const runInProcess = (task: TokenizeTask): Promise<TokenizeResult> => tokenizeTask(task);

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Tokenizes `text` whole, in pieces and with the reference; asserts equal ids and masks and
 * returns the number of pieces.
 */
async function checkPiecewise(name: string, text: string, pieceBytes: number, seed = 1): Promise<number> {
  const bytes = enc.encode(text);
  const masked = randomSpans(bytes.length, seed);
  const whole = await tokenizeTask({ text: bytes.slice(), masked, bos: BOS, eos: EOS });
  const pieces = await tokenizePiecewise(bytes.slice(), masked, BOS, EOS, runInProcess, pieceBytes);
  // One piece is the whole encoding, whose agreement with the reference test/tokenizer*.test.ts
  // checks (the reference's BPE is quadratic on the long whitespace runs that make such texts).
  const want = pieces.pieces > 1 ? [BOS, ...reference.encodeOrdinary(text), EOS] : Array.from(whole.ids);
  let at = firstMismatch(whole.ids, want);
  assert.is(at, -1, `${name}: whole vs reference at ${at}`);
  at = firstMismatch(pieces.ids, want);
  assert.is(at, -1, `${name}: ${pieces.pieces} pieces of ~${pieceBytes} B vs reference at token ${at}: ${pieces.ids.slice(at, at + 4)} / ${want.slice(at, at + 4)}`);
  at = firstMismatch(pieces.mask, whole.mask);
  assert.is(at, -1, `${name}: mask of ${pieces.pieces} pieces vs whole at token ${at}`);
  return pieces.pieces;
}

test('every safe cut is a pre-token boundary of the whole text (corpus, CRLF, adversarial)', () => {
  const texts = { JS, TS, 'JS CRLF': crlf(JS.slice(0, 500_000)), ...adversarialTexts(), ...moreAdversarial() };
  let cuts = 0;
  for (const [name, text] of Object.entries(texts)) {
    const bytes = enc.encode(text);
    const boundary = new Uint8Array(bytes.length + 1);
    const split = splitRegExp();
    let offset = 0;
    let end = 0;
    for (let m = split.exec(text); m !== null; m = split.exec(text)) {
      assert.is(m.index, end, `${name}: pre-tokens do not tile the text at char ${end}`);
      end = m.index + m[0].length;
      boundary[offset] = 1;
      offset += Buffer.byteLength(m[0]);
    }
    assert.is(offset, bytes.length, name);
    for (let b = 1; b < bytes.length; b++) {
      if (!isSafeCut(bytes, b)) continue;
      cuts++;
      assert.ok(boundary[b], `${name}: safe cut at byte ${b} is inside a pre-token: ${JSON.stringify(Buffer.from(bytes.subarray(Math.max(0, b - 8), b + 8)).toString())}`);
    }
  }
  assert.ok(cuts > 500_000, `only ${cuts} safe cuts seen`);
});

test('corpus (JS, .d.ts, CRLF copies) in 64-byte pieces: ids = whole = reference, masks = whole', async () => {
  assert.ok(JS.length > 1_000_000 && TS.length > 600_000, `corpus too small: ${JS.length} + ${TS.length} chars`);
  const texts: Record<string, string> = {
    'JS corpus': JS.slice(0, 700_000),
    '.d.ts': TS.slice(0, 300_000),
    'JS CRLF': crlf(JS.slice(700_000, 850_000)),
    '.d.ts CRLF': crlf(TS.slice(300_000, 450_000)),
  };
  let seed = 1;
  for (const [name, text] of Object.entries(texts)) {
    const pieces = await checkPiecewise(name, text, 64, seed++);
    assert.ok(pieces > text.length / 200, `${name}: only ${pieces} pieces`);
  }
});

test('a cut at every safe place (1-byte pieces): real files and adversarial text', async () => {
  const texts: Record<string, string> = {
    'JS, every cut': JS.slice(0, 60_000),
    '.d.ts CRLF, every cut': crlf(TS.slice(200_000, 240_000)),
    ...adversarialTexts(),
    ...moreAdversarial(),
  };
  // Minified lines of 1 MB or 200 kB: 64-byte pieces (1-byte pieces of them are slow, and
  // '100 KB without spaces' above has every cut of such text).
  delete texts['1MB single line'];
  const minifiedLine = texts['200k minified'];
  delete texts['200k minified'];
  let seed = 100;
  let total = 0;
  for (const [name, text] of Object.entries(texts)) total += await checkPiecewise(name, text, 1, seed++);
  total += await checkPiecewise('200k minified', minifiedLine, 64, seed);
  assert.ok(total > 60_000, `only ${total} pieces`);
});

test('safe cuts, by example', () => {
  const cut = (text: string, at: string): boolean => {
    const b = Buffer.byteLength(text.slice(0, text.indexOf('|')));
    return isSafeCut(enc.encode(text.replace('|', '')), b) && at === 'yes' || !isSafeCut(enc.encode(text.replace('|', '')), b) && at === 'no';
  };
  const yes = ['a\n|b', 'a\r|b', 'x\r\n|}', '\n\n|1', '\n|中', '\n|é', '\n|😀', '\n|\u200b', 'foo| bar', 'a|,', 'a|1', 'it|\'s', 'x|\n', '1|a', '123|.', '9| '];
  const no = ['a\n| b', 'a\n|\n', '\r|\n', '\n|\t', '\n|\u3000', '\n|\u00a0', '\n|\u0085', '\n|\u2028', '\n|\u205f', '\n|\u1680', '\n|\ufeff', 'a|b', 'é|a',
    'a|é', 'a|\u0301', '1|2', '1|٣', ' |a', '.|a', "'|s", ' | ', ',|,', '中|文', '|a', 'a|'];
  for (const t of yes) assert.ok(cut(t, 'yes'), `should cut ${JSON.stringify(t)}`);
  for (const t of no) assert.ok(cut(t, 'no'), `should not cut ${JSON.stringify(t)}`);
});

test('cuts: small, uncuttable and not losslessly decodable texts stay one task; pieces are about equal', async () => {
  assert.equal(planCuts(enc.encode(JS.slice(0, 1000)), 1000), []);
  assert.equal(planCuts(enc.encode('abcdefgh'.repeat(10_000)), 64), [], 'a letter run has no safe cut');
  assert.equal(planCuts(enc.encode(' '.repeat(10_000)), 64), [], 'a space run has no safe cut');
  assert.equal(planCuts(enc.encode('中文'.repeat(10_000)), 64), [], 'no cut next to non-ASCII');
  const code = enc.encode(JS.slice(0, 100_000));
  assert.ok(planCuts(code, 64).length > 1000);
  // Invalid UTF-8 decodes with U+FFFD (3 bytes for 1), a leading BOM is dropped: offsets would shift.
  const invalid = enc.encode(JS.slice(0, 100_000));
  invalid[50_000] = 0xff;
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...code]);
  for (const [name, bytes] of [['invalid UTF-8', invalid], ['BOM', bom]] as const) {
    assert.equal(planCuts(bytes, 64), [], name);
    const masked: Array<[number, number]> = [[40_000, 60_000]];
    const whole = await tokenizeTask({ text: bytes.slice(), masked, bos: BOS, eos: EOS });
    const r = await tokenizePiecewise(bytes.slice(), masked, BOS, EOS, runInProcess, 64);
    assert.is(r.pieces, 1, name);
    assert.is(firstMismatch(r.ids, whole.ids), -1, name);
    assert.is(firstMismatch(r.mask, whole.mask), -1, name);
  }
  // Default piece size on ~2 MB of code: equal shares, each cut a few bytes after its share's end.
  const big = enc.encode(JS);
  const cuts = planCuts(big, PIECE_BYTES);
  assert.is(cuts.length, Math.ceil(big.length / PIECE_BYTES) - 1);
  const share = big.length / (cuts.length + 1);
  cuts.forEach((cut, k) => assert.ok(cut >= (k + 1) * share && cut - (k + 1) * share < 1000, `cut ${k} at ${cut}, share ${share}`));
});

/** An in-memory StageContext: blobs by content hash, and the given pool. */
function fakeContext(pool: TaskPool): StageContext & { blobs: Map<string, Uint8Array> } {
  const blobs = new Map<string, Uint8Array>();
  return {
    item: 'doc',
    blobs,
    pool,
    signal: new AbortController().signal,
    async putBlob(bytes) {
      const hash = hashBytes(bytes);
      blobs.set(hash, bytes.slice());
      return hash;
    },
    async getBlob(hash) {
      const bytes = blobs.get(hash);
      if (!bytes) throw new Error(`no blob ${hash}`);
      // A Node Buffer with its own memory, as the LMDB cache returns (Buffer#slice is a view).
      const copy = Buffer.alloc(bytes.length);
      copy.set(bytes);
      return copy;
    },
  };
}

test('the tokenize stage on the worker pool: a large document in parallel pieces, same blobs as one task', async () => {
  const text = JS.slice(0, 3 * PIECE_BYTES + 12_345);
  const bytes = enc.encode(text);
  const masked: Array<[number, number]> = [[100, 5_000], [300_000, 400_000], [bytes.length - 10, bytes.length]];
  const pool = new PiscinaPool(1);
  let tasks = 0;
  const counting: TaskPool = { threads: 1, close: () => pool.close(), run: (url, payload, opts) => (tasks++, pool.run(url, payload, opts)) };
  try {
    const ctx = fakeContext(counting);
    const textHash: ContentHash = await ctx.putBlob(bytes);
    const doc = { id: 'repo-1', repo: 'repo-1', text: textHash, bytes: bytes.length, masked };
    // A lost piece leaves the run pending forever: fail instead of hanging the suite.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result after 180 s (${tasks} tasks sent): a piece was lost`)), 180_000);
    });
    const ref = await Promise.race([tokenizeStage.run({ doc, tokenizerId: 'x', bos: BOS, eos: EOS }, ctx), timeout]).finally(() => clearTimeout(timer));
    assert.is(tasks, 4, 'one task per piece');
    const whole = await tokenizeTask({ text: bytes.slice(), masked, bos: BOS, eos: EOS });
    assert.is(ref.ids, hashBytes(new Uint8Array(whole.ids.buffer, whole.ids.byteOffset, whole.ids.byteLength)), 'ids blob');
    assert.is(ref.mask, hashBytes(whole.mask), 'mask blob');
    assert.is(ref.tokens, whole.ids.length);
    assert.is(ref.trained, whole.mask.reduce((n, m) => n + m, 0));
    assert.is(firstMismatch(idsFromBlob(ctx.blobs.get(ref.ids)!), [BOS, ...reference.encodeOrdinary(text), EOS]), -1, 'vs reference');
  } finally {
    // After a lost piece, close() times out too: that must not hide the first failure.
    await pool.close().catch((err) => console.error(`closing the pool: ${(err as Error).message}`));
  }
});

test.run();
