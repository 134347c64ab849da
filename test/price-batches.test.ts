/**
 * trajectory-price counts a repository's sections in batches (issue 17: a worker holds one batch,
 * not a large repository's whole text): consecutive, in order, each section once, a batch over
 * PRICE_BATCH_CHARS only when one section is.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PRICE_BATCH_CHARS, priceBatches } from '../stages/render/price.ts';

test('batches are the sections in order, each within PRICE_BATCH_CHARS unless one section is longer', () => {
  const big = 'x'.repeat(PRICE_BATCH_CHARS + 5);
  const third = 'y'.repeat(Math.floor(PRICE_BATCH_CHARS / 3));
  const texts = ['header', third, third, third, big, 'a', third, '', 'b'];
  const batches = priceBatches(texts);
  assert.equal(batches.flat(), texts, 'every section once, in order');
  for (const b of batches) {
    assert.ok(b.length > 0);
    const chars = b.reduce((n, t) => n + t.length, 0);
    assert.ok(chars <= PRICE_BATCH_CHARS || b.length === 1, `${chars} chars in a batch of ${b.length}`);
  }
  assert.ok(batches.length >= 3);
  assert.equal(priceBatches([]), [[]], 'no sections: one empty task, as before');
  assert.equal(priceBatches(['a', 'b']), [['a', 'b']]);
});

test.run();
