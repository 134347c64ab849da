/**
 * The shard plan (stages/shard/plan.ts): documents in identity order, content-defined boundaries
 * with bounded sizes, so an edit or an added repository changes few shards. Pure and fast.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { docOrder, idUnit, rowGroupUnit, MAX_ROW_GROUP_TOKENS, MAX_TOKEN_BYTES, planDocumentShards, planRowGroups, rowGroupTarget, shardBounds, type DocSlice } from '../stages/shard/plan.ts';
import { loadLlama3Vocab } from '../stages/tokenize/vocab.ts';
import type { TokenizedRef } from '../stages/tokenize/stage.ts';
import type { ContentHash } from '../src/hash.ts';

const h = (s: string) => s as ContentHash;
const doc = (id: string, tokens: number): TokenizedRef => ({ id, repo: id.split('#')[0]!, text: h(`t-${id}-${tokens}`), ids: h(`i-${id}-${tokens}`), mask: h(`m-${id}-${tokens}`), tokens, trained: tokens });

/** A deterministic corpus: `n` repositories of 200..2200 tokens. */
function corpus(n: number): TokenizedRef[] {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, k) => doc(`pkg-${String(k).padStart(4, '0')}`, 200 + Math.floor(rand() * 2000)));
}

const SETTINGS = { shardTokens: 20_000, seqLen: 1024 };
/** A shard's identity: what its cache key is made of. */
const contentOf = (shard: DocSlice[]) => shard.map((s) => `${s.doc.id}:${s.doc.ids}:${s.start}-${s.end}`).join(',');
const contents = (plan: DocSlice[][]) => new Set(plan.map(contentOf));

test('identity order: by id, parts #k in numeric order, whatever the input order', () => {
  const ids = ['b', 'a#10', 'a#2', 'a#1', 'c', 'a~1'];
  assert.equal([...ids].sort((x, y) => docOrder({ id: x }, { id: y })), ['a#1', 'a#2', 'a#10', 'a~1', 'b', 'c']);
  const docs = corpus(50);
  const reversed = [...docs].reverse();
  assert.equal(planDocumentShards(reversed, SETTINGS).map(contentOf), planDocumentShards(docs, SETTINGS).map(contentOf), 'config order does not matter');
});

test('every document once, in order; shard sizes within the bounds; mean near the target', () => {
  const docs = corpus(2000);
  const plan = planDocumentShards(docs, SETTINGS);
  const { min, max } = shardBounds(SETTINGS.shardTokens);
  assert.equal(plan.flat().map((s) => s.doc.id), [...docs].sort(docOrder).map((d) => d.id));
  const sizes = plan.map((shard) => shard.reduce((n, s) => n + s.end - s.start, 0));
  sizes.slice(0, -1).forEach((n, k) => assert.ok(n >= min && n <= max, `shard ${k}: ${n} tokens, bounds ${min}..${max}`));
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  assert.ok(mean > SETTINGS.shardTokens * 0.6 && mean < SETTINGS.shardTokens * 1.4, `mean ${mean.toFixed(0)} near ${SETTINGS.shardTokens}`);
});

test('a document larger than the maximum is a shard of its own', () => {
  const docs = [doc('a', 1000), doc('b', 100_000), doc('c', 1000)];
  const plan = planDocumentShards(docs, SETTINGS);
  assert.ok(plan.some((shard) => shard.length === 1 && shard[0]!.doc.id === 'b'));
});

test('a few tokens more in one document change only the shard holding it', () => {
  const docs = corpus(2000);
  const before = planDocumentShards(docs, SETTINGS);
  let moved = 0;
  for (const k of [3, 400, 999, 1500, 1998]) {
    const edited = docs.map((d, i) => (i === k ? doc(d.id, d.tokens + 3) : d));
    const after = planDocumentShards(edited, SETTINGS);
    const old = contents(before);
    const changed = after.filter((shard) => !old.has(contentOf(shard)));
    assert.is(after.length, before.length);
    assert.is(changed.length, 1, `edit of ${docs[k]!.id}`);
    assert.ok(changed[0]!.some((s) => s.doc.id === docs[k]!.id));
    moved += changed.length;
  }
  assert.is(moved, 5);
});

test('an added or removed repository changes only the shards near it', () => {
  const docs = corpus(2000);
  const before = planDocumentShards(docs, SETTINGS);
  const old = contents(before);
  const added = planDocumentShards([...docs, doc('pkg-0999a', 1500)], SETTINGS);
  assert.ok(added.filter((s) => !old.has(contentOf(s))).length <= 3, 'an added repository re-writes at most its shard and a neighbour or two');
  const removed = planDocumentShards(docs.filter((d) => d.id !== 'pkg-1200'), SETTINGS);
  assert.ok(removed.filter((s) => !old.has(contentOf(s))).length <= 3, 'a removed repository likewise');
  assert.ok(before.length > 50, `a corpus of many shards: ${before.length}`);
});

/** Row groups of every shard of a plan: restarted at each shard's start. */
const RG = { shardTokens: 20_000, rowGroupRows: 100_000 };
const groupsOf = (plan: DocSlice[][], s = RG) => plan.flatMap((shard) => planRowGroups(shard, s));

test('row groups: every slice of the shard once, in order; sizes within the bounds; not aligned with shard boundaries', () => {
  const docs = corpus(2000);
  const shards = planDocumentShards(docs, SETTINGS);
  const target = rowGroupTarget(RG.shardTokens);
  for (const shard of shards) {
    const groups = planRowGroups(shard, RG);
    assert.equal(groups.flat(), shard, 'the shard, cut');
    const sizes = groups.map((g) => g.reduce((n, s) => n + s.end - s.start, 0));
    sizes.forEach((n, k) => assert.ok(n <= 2 * target || groups[k]!.length === 1, `row group ${k}: ${n} tokens over ${2 * target}`));
    sizes.slice(0, -1).forEach((n, k) => assert.ok(n >= Math.floor(target / 4), `row group ${k}: ${n} tokens under ${target / 4}`));
  }
  const groups = groupsOf(shards);
  const mean = groups.reduce((n, g) => n + g.reduce((m, s) => m + s.end - s.start, 0), 0) / groups.length;
  assert.ok(mean > target * 0.5 && mean < target * 1.5, `mean ${mean.toFixed(0)} near ${target}`);
  assert.ok(groups.length > shards.length * 4, `several row groups per shard: ${groups.length} for ${shards.length} shards`);
  // Salted: row groups end on documents whose row-group hash is low, not on those whose shard hash is.
  const all = [...docs].sort(docOrder).map((d) => ({ doc: d, start: 0, end: d.tokens }));
  const ends = planRowGroups(all, { shardTokens: 80_000, rowGroupRows: 100_000 }).slice(0, -1).map((g) => g.at(-1)!.doc.id);
  const meanOf = (f: (id: string) => number) => ends.reduce((n, id) => n + f(id), 0) / ends.length;
  assert.ok(ends.length > 20 && meanOf(rowGroupUnit) < 0.2, `row-group ends: mean row-group hash ${meanOf(rowGroupUnit).toFixed(2)}`);
  assert.ok(meanOf(idUnit) > 0.35 && meanOf(idUnit) < 0.65, `row-group ends: mean shard hash ${meanOf(idUnit).toFixed(2)}, independent`);
});

test('row groups: a few tokens more in one document change only the row group holding it', () => {
  const docs = corpus(2000);
  const before = groupsOf(planDocumentShards(docs, SETTINGS));
  const old = contents(before);
  for (const k of [3, 400, 999, 1500, 1998]) {
    const edited = docs.map((d, i) => (i === k ? doc(d.id, d.tokens + 3) : d));
    const after = groupsOf(planDocumentShards(edited, SETTINGS));
    const changed = after.filter((g) => !old.has(contentOf(g)));
    assert.is(after.length, before.length);
    assert.is(changed.length, 1, `edit of ${docs[k]!.id}`);
    assert.ok(changed[0]!.some((s) => s.doc.id === docs[k]!.id));
  }
});

test('row groups: forced cuts at rowGroupRows rows and at the size bound; a huge document alone', () => {
  const small = Array.from({ length: 50 }, (_, k) => doc(`d${String(k).padStart(3, '0')}`, 1));
  const groups = planRowGroups(planDocumentShards(small, { shardTokens: 1_000_000, seqLen: 1 }).flat(), { shardTokens: 1_000_000, rowGroupRows: 7 });
  assert.ok(groups.every((g) => g.length <= 7), `at most 7 rows: ${groups.map((g) => g.length)}`);
  assert.equal(groups.flat().map((s) => s.doc.id), small.map((d) => d.id));
  // A shard target so large that the size bound (not 2 x target) cuts: at most MAX_ROW_GROUP_TOKENS tokens.
  const big = Array.from({ length: 40 }, (_, k) => doc(`b${String(k).padStart(3, '0')}`, 1_000_000));
  const cut = planRowGroups(big.map((d) => ({ doc: d, start: 0, end: d.tokens })), { shardTokens: 10 ** 9, rowGroupRows: 100_000 });
  assert.ok(cut.length >= 5, `cut by size: ${cut.length}`);
  for (const g of cut) assert.ok(g.reduce((n, s) => n + s.end - s.start, 0) <= MAX_ROW_GROUP_TOKENS);
  const alone = planRowGroups([doc('a', 10), doc('b', MAX_ROW_GROUP_TOKENS + 5), doc('c', 10)].map((d) => ({ doc: d, start: 0, end: d.tokens })), { shardTokens: 10 ** 9, rowGroupRows: 100_000 });
  assert.equal(alone.map((g) => g.map((s) => s.doc.id)), [['a'], ['b'], ['c']]);
});

test("the size bound holds for Llama-3: no token decodes to more than MAX_TOKEN_BYTES bytes", async () => {
  const vocab = await loadLlama3Vocab();
  let longest = 0;
  for (const t of vocab.tokenBytes) if (t && t.length > longest) longest = t.length;
  assert.ok(longest > 16 && longest <= MAX_TOKEN_BYTES, `longest token ${longest} bytes`);
  assert.ok(MAX_ROW_GROUP_TOKENS * (MAX_TOKEN_BYTES + 5) <= 2 ** 30, 'one row group: at most 1 GiB of text, ids and mask');
});

test.run();
