/**
 * The offline provider's thoughts never repeat a long line of the file they are about: a long
 * TypeScript signature named in a thought is cut to "name(…)", so the copy check (12 words of the
 * file, implement/loop.ts) does not reject the answer and fail the item (seen on cheerio's
 * traversing.ts: every build of it failed).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copiedSpan, copyIndex } from '../stages/implement/loop.ts';
import { thoughtName } from '../stages/llm/offline.ts';

const file = `export function map<T, M>(this: Cheerio<T>, fn: (this: T, i: number, el: T) => M[] | M | null | undefined): Cheerio<M> {\n  return this._make(fn);\n}\n`;

test('a long signature is named without its parameters; a short one whole', () => {
  assert.is(thoughtName('function map<T, M>(this: Cheerio<T>, fn: (this: T, i: number, el: T) => M[] | M | null | undefined)'), 'map<T, M>(…)');
  assert.is(thoughtName('function pad(text, width)'), 'pad(text, width)');
  assert.is(thoughtName('variable x'), 'x');
});

test('a thought naming the definition does not copy the file', () => {
  const index = copyIndex(file);
  const long = 'map<T, M>(this: Cheerio<T>, fn: (this: T, i: number, el: T) => M[] | M | null | undefined)';
  assert.ok(copiedSpan(`traversing.ts defines ${long}.`, index), 'the full signature is a copy (the check works)');
  assert.is(copiedSpan(`traversing.ts defines ${thoughtName(`function ${long}`)}.`, index), undefined);
});

test.run();
