/**
 * Facts beyond plain declarations (issue 14, grounding) and the TypeScript and Python grammars
 * (issue 13). Expectations are hand-checked against the sources.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import parseTask, { PARSER_VERSIONS, parserVersionFor } from '../stages/parse/task.ts';
import type { FileFacts } from '../stages/parse/facts.ts';
import { LANGUAGES } from '../stages/parse/languages/registry.ts';
import { FIXTURES } from './fixtures/analysis/load.ts';

const express = (file: string) => readFileSync(join(FIXTURES, 'express', file), 'utf8');
const defs = (f: FileFacts) => f.definitions.map((d) => `${d.kind} ${d.className ? d.className + '.' : ''}${d.name}`);

test('express application.js: every app.x = function method, with JSDoc but not TODOs or code', async () => {
  const facts = await parseTask({ path: 'lib/application.js', text: express('application.js') });
  assert.equal(defs(facts), [
    'method app.init',
    'method app.defaultConfiguration',
    'method app.handle',
    'method app.use',
    'method app.set',
    'method app.enabled',
    'method app.all',
    'method app.listen',
    'function tryRender',
  ]);
  const doc = new Map(facts.definitions.map((d) => [d.name, d.doc]));
  assert.is(doc.get('init'), '/**\n * Initialize the server.\n *\n * @private\n */');
  assert.match(doc.get('set')!, /^\/\*\*\n \* Assign `setting` to `val`/);
  assert.is(doc.get('defaultConfiguration'), undefined, 'a // TODO line is a note');
  assert.is(doc.get('use'), undefined, 'commented-out code is not documentation');
  assert.is(doc.get('enabled'), undefined);
  assert.equal(facts.definitions.find((d) => d.name === 'handle')!.params, '(req, res, callback)');
});

test('express request.js: aliased methods and defineGetter getters', async () => {
  const facts = await parseTask({ path: 'lib/request.js', text: express('request.js') });
  assert.equal(defs(facts), [
    'method req.get',
    'method req.header',
    'method req.accepts',
    'getter req.protocol',
    'getter req.secure',
    'getter req.path',
    'function defineGetter',
  ]);
  const protocol = facts.definitions.find((d) => d.name === 'protocol')!;
  assert.match(protocol.doc!, /Return the protocol string/);
  assert.is(facts.exports.map((e) => e.name).join(), 'module.exports');
});

test('express response.js: prototype methods; a commented-out block defines nothing', async () => {
  const facts = await parseTask({ path: 'lib/response.js', text: express('response.js') });
  assert.equal(defs(facts), [
    'method res.status',
    'method res.send',
    'method res.json',
    'method res.sendStatus',
    'method res.header', // `res.set = res.header = function` (one statement: sorted by name)
    'method res.set',
    'method res.get',
  ]);
  assert.match(facts.definitions[0].doc!, /Set status `code`/);
});

test('JavaScript: prototype methods, object-literal methods and getters, class fields and getters', async () => {
  const text = [
    'function View(name) {}',
    'View.prototype.lookup = function lookup(name) {};',
    'View.prototype.render = (options) => {};',
    "Object.defineProperty(View.prototype, 'x', { get: function () {} });",
    'const api = { start() {}, get ready() { return true }, stop: function (code) {}, value: 1 };',
    'class K { count = 0; static #secret; get size() { return 1 } set size(v) {} run(a) {} }',
    '/* plain block comment */',
    'function notDoc() {}',
    '/** TODO: write docs */',
    'function todo() {}',
  ].join('\n');
  const facts = await parseTask({ path: 'v.js', text });
  assert.equal(defs(facts), [
    'function View',
    'method View.lookup',
    'method View.render',
    // One line each: sorted by name, then kind.
    'getter api.ready',
    'method api.start',
    'method api.stop',
    'field K.#secret',
    'class K',
    'field K.count',
    'method K.run',
    'getter K.size',
    'method K.size',
    'function notDoc',
    'function todo',
  ]);
  assert.ok(facts.definitions.every((d) => d.doc === undefined), 'no doc: plain block comment, TODO');
});

test('TypeScript: imports (type-only, import = require), declarations, members, JSDoc', async () => {
  const text = [
    "import type { A } from './a.js';",
    "import x = require('./b');",
    "export type { C } from './c';",
    "import { d } from './d';",
    '/** The K. */',
    'export abstract class K<T> implements I {',
    '  private f: number = 1;',
    '  get h(): number { return 1 }',
    '  abstract m(a: string): void;',
    '}',
    'export interface I { a(x: number): void }',
    'export type T = string | number;',
    'export enum E { A, B }',
    'export function over(a: string): void;',
    'export function over(a: any): void {}',
    'export const arrow = <U,>(u: U): U => u;',
    "const lazy = () => import('./lazy.js');",
  ].join('\n');
  const facts = await parseTask({ path: 'src/k.ts', text });
  assert.is(facts.language, 'typescript');
  assert.is(facts.syntaxErrors, 0);
  assert.equal(facts.imports, [
    { kind: 'esm', specifier: './a.js', line: 1, typeOnly: true, names: ['A'] },
    { kind: 'require', specifier: './b', line: 2, names: ['*'] },
    { kind: 'reexport', specifier: './c', line: 3, typeOnly: true, names: ['C'] },
    { kind: 'esm', specifier: './d', line: 4, names: ['d'] },
    { kind: 'dynamic', specifier: './lazy.js', line: 17 },
  ]);
  assert.equal(defs(facts), [
    'class K',
    'field K.f',
    'getter K.h',
    'method K.m',
    'interface I',
    'method I.a',
    'type T',
    'enum E',
    'function over',
    'function over',
    'variable arrow',
    'variable lazy',
  ]);
  assert.is(facts.definitions[0].doc, '/** The K. */');
  assert.equal(facts.exports.map((e) => e.name), ['C', 'K', 'I', 'T', 'E', 'over', 'over', 'arrow']);
  assert.is(facts.declarations, undefined);
});

test('TypeScript: .d.ts files are declarations; TSX parses JSX', async () => {
  const dts = await parseTask({ path: 'types/index.d.ts', text: "export declare function f(a: number): string;\nexport * from './more';\n" });
  assert.is(dts.declarations, true);
  assert.equal(defs(dts), ['function f']);
  assert.equal(dts.imports.map((i) => i.specifier), ['./more']);
  const tsx = await parseTask({ path: 'App.tsx', text: "import { B } from './B';\nexport function App(p: { n: number }) { return <B n={p.n} />; }\n" });
  assert.is(tsx.language, 'tsx');
  assert.is(tsx.syntaxErrors, 0);
  assert.equal(defs(tsx), ['function App']);
});

test('Python: imports (relative, absolute, weak), __all__, definitions with docstrings', async () => {
  const text = [
    '"""Module doc."""',
    'import os.path as p, sys',
    'from . import a as b, c',
    'from ..pkg.mod import *',
    'try:',
    '    from ._speedups import fast',
    'except ImportError:',
    '    fast = None',
    "__all__ = ['A', 'f']",
    'X: int = 1',
    '',
    '# TODO: not a doc',
    'def f(a, *b, c=1):',
    '    """Does f."""',
    '    import json',
    '    return 1',
    '',
    '@decorator',
    'class A(B):',
    '    """A class."""',
    '    f = 1',
    '    @property',
    '    def g(self):',
    '        "The g."',
    '    def h(self, x):',
    '        # a comment',
    '        pass',
  ].join('\n');
  const facts = await parseTask({ path: 'pkg/m.py', text });
  assert.is(facts.language, 'python');
  assert.is(facts.syntaxErrors, 0);
  assert.equal(facts.imports, [
    { kind: 'py-import', specifier: 'os.path', line: 2, names: ['*'] },
    { kind: 'py-import', specifier: 'sys', line: 2, names: ['*'] },
    { kind: 'py-from', specifier: '.', line: 3, names: ['a', 'c'] },
    { kind: 'py-from', specifier: '..pkg.mod', line: 4, names: ['*'] },
    { kind: 'py-from', specifier: '._speedups', line: 6, weak: true, names: ['fast'] },
    { kind: 'py-import', specifier: 'json', line: 15, weak: true, names: ['*'] },
  ]);
  assert.equal(facts.exports.map((e) => e.name), ['A', 'f']);
  assert.equal(defs(facts), ['variable __all__', 'variable X', 'function f', 'class A', 'field A.f', 'getter A.g', 'method A.h']);
  const doc = new Map(facts.definitions.map((d) => [`${d.className ?? ''}.${d.name}`, d.doc]));
  assert.is(doc.get('.f'), '"""Does f."""');
  assert.is(doc.get('.A'), '"""A class."""');
  assert.is(doc.get('A.g'), '"The g."');
  assert.is(doc.get('A.h'), undefined, 'a # comment is not a docstring');
  assert.equal(facts.definitions.find((d) => d.name === 'f')!.params, '(a, *b, c=1)');
});

test('license headers and TODO docstrings are not documentation', async () => {
  const js = await parseTask({ path: 'a.js', text: '/**\n * @license MIT\n * Copyright 2020 X\n */\n\nfunction f() {}\n/** Real doc. */\nfunction g() {}\n' });
  assert.equal(js.definitions.map((d) => [d.name, d.doc]), [['f', undefined], ['g', '/** Real doc. */']]);
  const py = await parseTask({ path: 'a.py', text: 'def f():\n    """TODO: write"""\n\ndef g():\n    r"""Real."""\n' });
  assert.equal(py.definitions.map((d) => [d.name, d.doc]), [['f', undefined], ['g', 'r"""Real."""']]);
});

test('each language has its own parser version: one language cannot invalidate another', () => {
  const ids = LANGUAGES.map((l) => l.id);
  assert.equal(ids, ['javascript', 'python', 'tsx', 'typescript']);
  assert.equal(Object.keys(PARSER_VERSIONS).sort(), ids);
  assert.is(new Set(Object.values(PARSER_VERSIONS)).size, ids.length);
  for (const id of ids) assert.is(parserVersionFor(id), PARSER_VERSIONS[id]);
});

test.run();
