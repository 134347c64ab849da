import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FACTS_VERSION } from '../stages/parse/facts.ts';
import parseTask, { languageFor, MAX_PARSE_BYTES, parserVersion } from '../stages/parse/task.ts';
import { FIXTURES } from './fixtures/analysis/load.ts';

const read = (rel: string) => readFileSync(join(FIXTURES, rel), 'utf8');

test('languageFor: registered extensions, case-insensitive; nothing else', () => {
  for (const p of ['a.js', 'b/c.mjs', 'd.cjs', 'e.jsx', 'F.JS']) assert.is(languageFor(p), 'javascript', p);
  for (const p of ['a.ts', 'b.d.ts', 'c.mts', 'd.cts']) assert.is(languageFor(p), 'typescript', p);
  assert.is(languageFor('x/App.tsx'), 'tsx');
  for (const p of ['a.py', 'b/c.pyi']) assert.is(languageFor(p), 'python', p);
  for (const p of ['a.go', 'a.rs', 'a.json', 'Makefile', 'a.js.map']) assert.is(languageFor(p), undefined, p);
});

test('PARSER_VERSION names the binding and carries a content hash', () => {
  assert.match(parserVersion(), new RegExp(`^parse-${FACTS_VERSION}\\.\\d+/web-tree-sitter@[\\d.]+/[0-9a-f]{16}$`));
});

test('facts of a sample file (hand-checked)', async () => {
  const facts = await parseTask({ path: 'sample.js', text: read('facts/sample.js') });
  assert.is(facts.factsVersion, FACTS_VERSION);
  assert.is(facts.language, 'javascript');
  assert.is(facts.syntaxErrors, 0);
  assert.is(facts.lineCount, 41);
  assert.equal(facts.imports, [
    { kind: 'esm', specifier: './x.js', line: 1, names: ['b', 'd-e', 'default'] },
    { kind: 'esm', specifier: 'y', line: 2, names: ['*'] },
    { kind: 'esm', specifier: 'side-effect', line: 3 },
    { kind: 'reexport', specifier: './z', line: 4, names: ['*'] },
    { kind: 'reexport', specifier: './w', line: 5, names: ['*'] },
    { kind: 'reexport', specifier: './v', line: 6, names: ['k', 'm'] },
    { kind: 'require', specifier: 'r', line: 7, names: ['r', 's'] },
    { kind: 'require', specifier: 'whole', line: 8, names: ['*'] },
    { kind: 'require', specifier: 'u', line: 9, names: ['v'] },
    { kind: 'dynamic', specifier: './dyn.js', line: 10 },
  ]);
  assert.equal(facts.exports, [
    { kind: 'reexport', name: '*', line: 4 },
    { kind: 'reexport', name: 'q', line: 5 },
    { kind: 'reexport', name: 'default', line: 6 },
    { kind: 'reexport', name: 'm', line: 6 },
    { kind: 'named', name: 'Shape', line: 15 },
    { kind: 'named', name: 'gen', line: 33 },
    { kind: 'named', name: 'num', line: 33 },
    { kind: 'named', name: 'arrow', line: 34 },
    { kind: 'named', name: 'renamed', line: 34 },
    { kind: 'cjs-property', name: 'key', line: 39 },
    { kind: 'cjs-property', name: 'method', line: 39 },
    { kind: 'cjs-module', name: 'module.exports', line: 39 },
    { kind: 'cjs-property', name: 'plain', line: 39 },
    { kind: 'cjs-property', name: 'single', line: 40 },
    { kind: 'cjs-property', name: 'deep', line: 41 },
  ]);
  assert.equal(facts.definitions, [
    { kind: 'class', name: 'Shape', startLine: 15, endLine: 22, doc: '/**\n * A shape.\n */' },
    // Line comments are notes, not documentation (issue 14).
    { kind: 'method', name: 'constructor', className: 'Shape', startLine: 17, endLine: 19, params: '(w, h = 1)' },
    { kind: 'getter', name: 'area', className: 'Shape', startLine: 21, endLine: 21, params: '()' },
    // The comment on line 24 trails code: not a doc comment of `plain`.
    { kind: 'function', name: 'plain', startLine: 25, endLine: 27, params: '(a, { b } = {}, ...rest)' },
    { kind: 'variable', name: 'arrow', startLine: 31, endLine: 31, params: 'v' },
    { kind: 'variable', name: 'other', startLine: 31, endLine: 31, params: '(a, b)' },
    { kind: 'variable', name: 'gen', startLine: 33, endLine: 33, params: '()' },
    { kind: 'variable', name: 'Klass', startLine: 35, endLine: 35 },
    { kind: 'method', name: 'method', className: 'module.exports', startLine: 39, endLine: 39, params: '()' },
  ]);
});

test('default exports: anonymous function, named class, expression', async () => {
  const text = 'export default function (a) {}\nexport default class K { m() {} }\nexport default 42;\nexport { x as default };\n';
  const facts = await parseTask({ path: 'd.mjs', text });
  assert.equal(facts.exports, [
    { kind: 'default', name: 'default', line: 1 },
    { kind: 'default', name: 'default', line: 2 },
    { kind: 'default', name: 'default', line: 3 },
    { kind: 'named', name: 'default', line: 4 },
  ]);
  assert.equal(
    facts.definitions.map((d) => `${d.kind} ${d.className ? d.className + '.' : ''}${d.name} ${d.startLine}`),
    ['function default 1', 'class K 2', 'method K.m 2'],
  );
});

test('a file with syntax errors still yields facts', async () => {
  const facts = await parseTask({ path: 'broken.js', text: read('syntax/broken.js') });
  // Two MISSING nodes (line 4 `ok +;`, line 7 the unclosed paren) and one ERROR (line 8 `] 2`).
  assert.is(facts.syntaxErrors, 3);
  assert.equal(facts.imports, [{ kind: 'esm', specifier: './ok.js', line: 1, names: ['ok'] }]);
  assert.equal(facts.exports, [
    { kind: 'named', name: 'fine', line: 3 },
    { kind: 'named', name: 'also', line: 9 },
  ]);
  assert.equal(facts.definitions.map((d) => d.name), ['fine', 'also']);
  assert.is(facts.lineCount, 9);
  const clean = await parseTask({ path: 'ok.js', text: read('syntax/ok.js') });
  assert.is(clean.syntaxErrors, 0);
});

test('line count: empty, no trailing newline, CRLF', async () => {
  const lines = async (text: string) => (await parseTask({ path: 'l.js', text })).lineCount;
  assert.is(await lines(''), 0);
  assert.is(await lines('a'), 1);
  assert.is(await lines('a\n'), 1);
  assert.is(await lines('a\nb'), 2);
  assert.is(await lines('a\r\nb\r\n'), 2);
});

test('deterministic: the same input gives the same facts', async () => {
  const text = read('facts/sample.js');
  assert.equal(await parseTask({ path: 'a.js', text }), await parseTask({ path: 'a.js', text }));
});

test('refusals carry a code and the file', async () => {
  for (const [path, text, code] of [
    ['a.rs', 'let a = 1;', 'PARSE_FAILED'],
    ['big.js', 'x'.repeat(MAX_PARSE_BYTES + 1), 'FILE_TOO_LARGE'],
  ] as const) {
    try {
      await parseTask({ path, text });
      assert.unreachable(path);
    } catch (err) {
      assert.is((err as { code?: string }).code, code);
      assert.is((err as { item?: string }).item, path);
    }
  }
});

test.run();
