/**
 * The pure parts of trajectory documents (issue 12): where a repository is cut (fewest parts,
 * then fewest crossing imports, cycles whole, a unit over the budget alone) and what a Read
 * returns (whole, line ranges of the used definitions within the budget, reference).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cutParts } from '../stages/render/parts.ts';
import { chooseView, lineStarts, mergeRanges, sliceLines, usedRanges } from '../stages/render/observe.ts';
import type { FileFacts } from '../stages/parse/facts.ts';
import { quantile, versionShape } from '../stages/render/shape.ts';

const items = (tokens: number[]) => tokens.map((t, i) => ({ path: `f${i}`, tokens: t }));
const noHeader = () => 0;

test('cut: fewest parts first, then the position where the fewest imports cross', () => {
  // 6 files of 10 tokens, budget 30: two parts. Cuts at 3 (f3..f5 | f0..f2) are the only
  // two-part cut; with budget 40 cuts at 2, 3 or 4 are possible, and imports decide.
  const edges = [
    { from: 'f1', to: 'f0' },
    { from: 'f3', to: 'f2' },
    { from: 'f5', to: 'f4' },
    { from: 'f2', to: 'f1' },
    { from: 'f4', to: 'f1' },
  ];
  assert.equal(cutParts(items([10, 10, 10, 10, 10, 10]), edges, [], 30, noHeader).parts, [[0, 3], [3, 6]]);
  // Cut at 2: f2->f1, f4->f1 cross (2); at 3: f3->f2, f4->f1 (2); at 4: f4->f1... and f5->f4? no: f5 and f4 on the same side; f4->f1 (1).
  const r = cutParts(items([10, 10, 10, 10, 10, 10]), edges, [], 40, noHeader);
  assert.equal(r.parts, [[0, 4], [4, 6]]);
  assert.is(r.crossing, 1);
  assert.is(r.oversize, 0);
});

test('cut: a cycle is never cut; a unit over the budget is a part of its own; the header counts', () => {
  const cyc = cutParts(items([10, 10, 10, 10]), [], [['f1', 'f2']], 20, noHeader);
  assert.equal(cyc.parts, [[0, 1], [1, 3], [3, 4]]);
  const big = cutParts(items([5, 100, 5, 5]), [], [], 20, noHeader);
  assert.equal(big.parts, [[0, 1], [1, 2], [2, 4]]);
  assert.is(big.oversize, 1);
  // A header of 8 tokens per part: 10 + 10 + 8 > 20, so every file is its own part.
  assert.equal(cutParts(items([10, 10, 10]), [], [], 20, () => 8).parts, [[0, 1], [1, 2], [2, 3]]);
  assert.equal(cutParts(items([10, 10, 10]), [], [], 1000, () => 8).parts, [[0, 3]]);
  assert.equal(cutParts([], [], [], 10, noHeader).parts, []);
});

const facts = (defs: Array<[string, number, number, string?]>, exports: string[] = []): FileFacts =>
  ({
    factsVersion: 1 as any,
    language: 'javascript',
    imports: [],
    exports: exports.map((name, i) => ({ kind: 'named', name, line: i + 1 })),
    definitions: defs.map(([name, startLine, endLine, doc]) => ({ kind: 'function', name, startLine, endLine, doc })),
    syntaxErrors: 0,
    lineCount: 100,
  }) as FileFacts;

test('observe: used definitions as line ranges (doc comments included, near ranges merged), else exports', () => {
  const f = facts([['a', 2, 4, '/** A. */'], ['b', 6, 9], ['c', 30, 40]], ['a', 'c']);
  assert.equal(usedRanges(f, ['a', 'b']), [[1, 9]]);
  assert.equal(usedRanges(f, ['c']), [[30, 40]]);
  assert.equal(usedRanges(f, ['*']), [[1, 4], [30, 40]]);
  assert.equal(usedRanges(f, ['default']), [[1, 4], [30, 40]]);
  assert.equal(usedRanges(undefined, ['a']), []);
  assert.equal(mergeRanges([[5, 6], [1, 2], [9, 9], [20, 30]]), [[1, 9], [20, 30]]);
});

test('observe: whole when small and new; excerpts within the budget when re-read or large; reference otherwise', () => {
  const body = Array.from({ length: 50 }, (_, i) => `line ${i + 1} ${'x'.repeat(40)}\n`).join('');
  const starts = lineStarts(body);
  assert.is(sliceLines(body, starts, [2, 3]), `line 2 ${'x'.repeat(40)}\nline 3 ${'x'.repeat(40)}\n`);
  assert.equal(chooseView(body, [[2, 3]], false, 10_000), { kind: 'whole' });
  assert.equal(chooseView(body, [[2, 3]], true, 10_000), { kind: 'excerpt', ranges: [[2, 3]] });
  assert.equal(chooseView(body, [], true, 10_000), { kind: 'reference' });
  // Large: the used ranges, cut to the budget (each line is 49 bytes).
  const v = chooseView(body, [[1, 10], [20, 45]], false, 1000);
  assert.is(v.kind, 'excerpt');
  const bytes = (v as any).ranges.reduce((n: number, r: [number, number]) => n + Buffer.byteLength(sliceLines(body, starts, r)), 0);
  assert.ok(bytes <= 1000, String(bytes));
  assert.equal((v as any).ranges[0], [1, 10]);
  // Large with nothing named: its first lines.
  const head = chooseView(body, [], false, 1000) as any;
  assert.is(head.kind, 'excerpt');
  assert.is(head.ranges[0][0], 1);
  // A file without a final newline: the last line's slice is exact.
  assert.is(sliceLines('a\nb', lineStarts('a\nb'), [2, 2]), 'b');
});

test('shape: quantiles and the masked share', () => {
  assert.is(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.is(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  const s = versionShape([{ tokens: 100, trained: 60 }, { tokens: 300, trained: 300 }], [{ parts: 2, oversizeParts: 0, crossingImports: 3, reads: { whole: 1, excerpts: 2, references: 0 } }]);
  assert.is(s.maskedShare, 0.1);
  assert.equal(s.tokensPerDocument, { median: 100, p90: 300, max: 300 });
  assert.is(s.splitRepositories, 1);
});

test.run();
