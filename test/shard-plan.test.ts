/**
 * The shard plan (stages/shard/plan.ts): documents in identity order, content-defined boundaries
 * with bounded sizes, so an edit or an added repository changes few shards. Pure and fast.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { docOrder, planDocumentShards, shardBounds, type DocSlice } from '../stages/shard/plan.ts';
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

test.run();
