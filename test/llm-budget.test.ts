/**
 * The pure parts of reconstruction: budgeted excerpts (whole when they fit; else head, wanted
 * lines and tail, within the budget, gaps named), the copy check, re-sample seeds, and plan parts
 * (every file once, directories together, implementation order kept, each part within budget).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { excerptLines } from '../stages/llm/budget.ts';
import { copiedSpan, copyIndex, COPY_WORDS } from '../stages/implement/loop.ts';
import { resampleSeed } from '../stages/llm/providers.ts';
import { planParts, filesPerAnswer } from '../stages/plan/parts.ts';
import type { FileBrief } from '../stages/plan/brief.ts';
import type { LlmSession } from '../stages/llm/session.ts';
import { loadPrompts } from '../stages/llm/prompts.ts';

test('excerptLines: whole when it fits; else head, wanted lines, tail, within the budget', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `line ${i + 1} ${'x'.repeat(30)}`);
  const text = lines.join('\n');
  assert.is(excerptLines(text, text.length), text);
  const cut = excerptLines(text, 3000, [200, 250]);
  assert.ok(cut.length <= 3000, `${cut.length} chars`);
  assert.ok(cut.startsWith('line 1 '));
  assert.ok(cut.endsWith(lines[399]!));
  assert.ok(cut.includes(`\n${lines[199]}\n`) && cut.includes(`\n${lines[249]}\n`), 'wanted lines kept');
  assert.match(cut, /\[… lines \d+-\d+ not shown …\]/);
  // Every kept line is a real line, in order.
  const kept = cut.split('\n').filter((l) => !l.startsWith('[…'));
  let at = -1;
  for (const l of kept) {
    const i = lines.indexOf(l);
    assert.ok(i > at, `line out of order or invented: ${l}`);
    at = i;
  }
});

test('copy check: a thought repeating COPY_WORDS words of the file in a row is caught; names are not', () => {
  const code = 'function parse(argv, opts) {\n  const out = { _: [] };\n  for (const arg of argv) out._.push(arg);\n  return out;\n}\n';
  const index = copyIndex(code);
  assert.is(copiedSpan('parse walks argv and collects positional arguments in out._, returning out.', index), undefined);
  const copy = code.split(/\s+/).slice(0, COPY_WORDS).join(' ');
  assert.ok(copiedSpan(`I write ${copy} and more`, index));
  assert.is(copiedSpan(`I write ${copy} and more`, index), copy, 'the span is the copied words');
});

test('copy check: the first window of the thought that occurs word for word in the file (brute force), on random texts', () => {
  const rnd = (n: number) => Math.floor(Math.random() * n);
  // Two common words, so windows repeat and near-copies are common; rarer ones (non-ASCII, astral, punctuation) break runs.
  const vocab = ['a', 'b', 'a', 'b', 'a', 'b', 'é', '漢', '\u{1F600}', 'x()'];
  const seps = [' ', '\n', '  ', '\t', ' \r\n '];
  const text = (n: number) => Array.from({ length: n }, (_, i) => (i ? seps[rnd(seps.length)]! : '') + vocab[rnd(vocab.length)]!).join('');
  let copies = 0;
  for (let t = 0; t < 400; t++) {
    const file = text(rnd(200));
    const fw = file.split(/\s+/).filter(Boolean);
    // Thoughts quote 10 to 14 words of the file (a copy from 12 on) up to twice, from anywhere in it.
    const quote = () => {
      if (rnd(3) === 0) return '';
      const from = rnd(fw.length);
      return fw.slice(from, from + 10 + rnd(5)).join(seps[rnd(seps.length)]);
    };
    const thought = `${text(rnd(30))} ${quote()} ${text(rnd(10))} ${quote()} ${text(rnd(30))}`;
    const tw = thought.split(/\s+/).filter(Boolean);
    const windows = new Set<string>();
    for (let j = 0; j + COPY_WORDS <= fw.length; j++) windows.add(fw.slice(j, j + COPY_WORDS).join(' '));
    let want: string | undefined;
    for (let i = 0; i + COPY_WORDS <= tw.length && want === undefined; i++) if (windows.has(tw.slice(i, i + COPY_WORDS).join(' '))) want = tw.slice(i, i + COPY_WORDS).join(' ');
    if (want !== undefined) copies++;
    assert.is(copiedSpan(thought, copyIndex(file)), want, `file ${JSON.stringify(file)}\nthought ${JSON.stringify(thought)}`);
  }
  assert.ok(copies > 20 && copies < 380, `both outcomes were tried (${copies} copies of 400)`);
});

test('re-sample seeds: always different from the request seed and each other', () => {
  for (const seed of [0, 42, null]) {
    const seeds = [0, 1, 2, 3].map((a) => resampleSeed(seed, a));
    assert.is(seeds[0], seed);
    assert.is(new Set(seeds).size, 4);
  }
});

test('plan parts: every file once, a directory together when it fits, implementation order inside parts', () => {
  const brief = (path: string): FileBrief => ({ path, language: 'javascript', lines: 10, definitions: [`function f${path.length}(a, b)`], moreDefinitions: 0, docs: [], exports: ['f'], deps: [], external: [], usedBy: 1 });
  const paths = ['x/1.js', 'y/1.js', 'x/2.js', 'z/1.js', 'y/2.js', 'x/3.js', ...Array.from({ length: 40 }, (_, i) => `w/${i}.js`)];
  const session = { settings: { contextTokens: 8192, maxTokens: { plan: 1500, implement: 1024 } }, prompts: loadPrompts() } as unknown as LlmSession;
  const parts = planParts(session, paths.map(brief));
  assert.ok(parts.length > 1);
  const all = parts.flat().map((b) => b.path);
  assert.equal([...all].sort(), [...paths].sort());
  for (const part of parts) {
    assert.ok(part.length <= filesPerAnswer(session));
    const order = part.map((b) => paths.indexOf(b.path));
    assert.equal(order, [...order].sort((a, b) => a - b));
  }
  const partOf = (p: string) => parts.findIndex((part) => part.some((b) => b.path === p));
  assert.is(partOf('x/1.js'), partOf('x/3.js'));
  assert.is(partOf('y/1.js'), partOf('y/2.js'));
  // One call is enough for a few files.
  assert.is(planParts(session, paths.slice(0, 6).map(brief)).length, 1);
});

test.run();
