import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PackedSequence, TokenizedDoc } from '../stages/shard/layout.ts';
import { packDocuments, PAD_DOC_ID, SequencePacker, type PackOptions } from '../stages/shard/pack.ts';

/** Documents of varied lengths (some longer than several sequences) with recognisable ids. */
function makeDocs(lengths: number[]): TokenizedDoc[] {
  return lengths.map((n, d) => {
    const inputIds = new Int32Array(n);
    const lossMask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      inputIds[i] = i === 0 ? 128000 : i === n - 1 ? 128001 : d * 1000 + i;
      lossMask[i] = i === 0 ? 0 : (d + i) % 3 === 0 ? 0 : 1;
    }
    return { id: `doc-${d}`, repo: 'r', license: 'MIT', text: `text ${d}`, inputIds, lossMask };
  });
}

const LENGTHS = [5, 17, 3, 40, 2, 9, 64, 1, 12];
const TOTAL = LENGTHS.reduce((a, b) => a + b, 0); // 153

function concat(parts: (Int32Array | Uint8Array)[]): number[] {
  return parts.flatMap((p) => Array.from(p));
}

/** Rebuilds each document's ids from the sequences' doc_ids/doc_lengths. */
function regroup(seqs: PackedSequence[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of seqs) {
    let at = 0;
    s.docIds.forEach((id, k) => {
      const n = s.docLengths[k]!;
      out.set(id, [...(out.get(id) ?? []), ...s.inputIds.subarray(at, at + n)]);
      at += n;
    });
  }
  return out;
}

function checkInvariants(seqs: PackedSequence[], seqLen: number): void {
  for (const s of seqs) {
    assert.is(s.lossMask.length, s.inputIds.length);
    assert.is(s.docIds.length, s.docLengths.length);
    assert.is(s.docLengths.reduce((a, b) => a + b, 0), s.inputIds.length, 'doc_lengths sum to num_tokens');
    assert.ok(s.docLengths.every((n) => n > 0));
    assert.ok(s.inputIds.length <= seqLen);
  }
}

for (const seqLen of [1, 7, 16, 153, 200]) {
  test(`drop: every sequence has exactly ${seqLen} tokens and they are the docs' prefix in order`, () => {
    const docs = makeDocs(LENGTHS);
    const seqs = [...packDocuments(docs, { seqLen, lastPartial: 'drop' })];
    checkInvariants(seqs, seqLen);
    assert.is(seqs.length, Math.floor(TOTAL / seqLen));
    assert.ok(seqs.every((s) => s.inputIds.length === seqLen));
    const kept = seqs.length * seqLen;
    assert.equal(concat(seqs.map((s) => s.inputIds)), concat(docs.map((d) => d.inputIds)).slice(0, kept));
    assert.equal(concat(seqs.map((s) => s.lossMask)), concat(docs.map((d) => d.lossMask)).slice(0, kept));
  });
}

test('keep: concatenating all sequences reproduces every token and mask in order', () => {
  const docs = makeDocs(LENGTHS);
  const seqs = [...packDocuments(docs, { seqLen: 16, lastPartial: 'keep' })];
  checkInvariants(seqs, 16);
  assert.is(seqs.length, Math.ceil(TOTAL / 16));
  assert.is(seqs.at(-1)!.inputIds.length, TOTAL % 16);
  assert.ok(seqs.slice(0, -1).every((s) => s.inputIds.length === 16));
  assert.equal(concat(seqs.map((s) => s.inputIds)), concat(docs.map((d) => d.inputIds)));
  assert.equal(concat(seqs.map((s) => s.lossMask)), concat(docs.map((d) => d.lossMask)));
  // doc_ids/doc_lengths say exactly which tokens belong to which document, across boundaries
  const grouped = regroup(seqs);
  for (const d of docs) assert.equal(grouped.get(d.id), Array.from(d.inputIds), d.id);
  assert.equal([...grouped.keys()], docs.map((d) => d.id));
});

test('pad: the last sequence is filled with padId, mask 0, and a "" doc entry', () => {
  const docs = makeDocs(LENGTHS);
  const seqs = [...packDocuments(docs, { seqLen: 16, lastPartial: 'pad', padId: 128004 })];
  checkInvariants(seqs, 16);
  assert.ok(seqs.every((s) => s.inputIds.length === 16));
  const last = seqs.at(-1)!;
  const pad = 16 - (TOTAL % 16);
  assert.is(last.docIds.at(-1), PAD_DOC_ID);
  assert.is(last.docLengths.at(-1), pad);
  assert.equal(Array.from(last.inputIds.subarray(16 - pad)), Array(pad).fill(128004));
  assert.equal(Array.from(last.lossMask.subarray(16 - pad)), Array(pad).fill(0));
  assert.equal(concat(seqs.map((s) => s.inputIds)).slice(0, TOTAL), concat(docs.map((d) => d.inputIds)));
});

test('an exact multiple of seqLen gives no partial sequence in any mode', () => {
  for (const lastPartial of ['drop', 'pad', 'keep'] as const) {
    const seqs = [...packDocuments(makeDocs([8, 8, 16]), { seqLen: 8, lastPartial, padId: 0 })];
    assert.is(seqs.length, 4, lastPartial);
    assert.ok(seqs.every((s) => s.inputIds.length === 8 && !s.docIds.includes(PAD_DOC_ID)));
  }
});

test('a document longer than several sequences appears in each with its share', () => {
  const seqs = [...packDocuments(makeDocs([3, 30, 3]), { seqLen: 8, lastPartial: 'keep' })];
  assert.equal(
    seqs.map((s) => [s.docIds, Array.from(s.docLengths)]),
    [
      [['doc-0', 'doc-1'], [3, 5]],
      [['doc-1'], [8]],
      [['doc-1'], [8]],
      [['doc-1'], [8]],
      [['doc-1', 'doc-2'], [1, 3]],
    ],
  );
});

test('the streaming packer holds one sequence: pull() yields only complete ones until finish()', () => {
  const opts: PackOptions = { seqLen: 10, lastPartial: 'keep' };
  const packer = new SequencePacker(opts);
  const [a, b] = makeDocs([6, 25]);
  packer.push(a!);
  assert.is(packer.pull(), undefined, 'six tokens are not a sequence yet');
  packer.push(b!);
  assert.equal(packer.pull()!.docLengths, Int32Array.from([6, 4]));
  assert.equal(packer.pull()!.docLengths, Int32Array.from([10]));
  assert.equal(packer.pull()!.docLengths, Int32Array.from([10]));
  assert.is(packer.pull(), undefined, 'one token left is not a sequence');
  packer.finish();
  assert.equal(packer.pull()!.docLengths, Int32Array.from([1]));
  assert.is(packer.pull(), undefined);
  assert.throws(() => packer.push(a!));
});

test('empty documents are skipped; bad options and masks are rejected', () => {
  const seqs = [...packDocuments(makeDocs([0, 4, 0, 4]), { seqLen: 8, lastPartial: 'drop' })];
  assert.equal(seqs[0]!.docIds, ['doc-1', 'doc-3']);
  assert.throws(() => new SequencePacker({ seqLen: 0, lastPartial: 'drop' }), /seqLen/);
  assert.throws(() => new SequencePacker({ seqLen: 8, lastPartial: 'pad' }), /padId/);
  const bad = { ...makeDocs([4])[0]!, lossMask: new Uint8Array(3) };
  assert.throws(() => new SequencePacker({ seqLen: 8, lastPartial: 'drop' }).push(bad), /loss_mask/);
});

test.run();
