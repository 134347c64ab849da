import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRepoGraph, formatRepoGraph, graphInputOf, GRAPH_VERSION } from '../stages/graph/index.ts';
import type { GraphEdge, RepoGraph } from '../stages/graph/index.ts';
import parseTask from '../stages/parse/task.ts';
import { fixture } from './fixtures/analysis/load.ts';

/** Edges as 'from -> to (kind specifier)' lines: failures read like the expectation. */
function edges(graph: RepoGraph): string[] {
  return graph.edges.map((e: GraphEdge) => `${e.from} -> ${e.to} (${e.kind} ${e.specifier})`);
}

function unresolved(graph: RepoGraph): string[] {
  return graph.unresolved.map((u) => `${u.from}: ${u.specifier} ${u.reason}${u.detail ? ` ${u.detail}` : ''}`);
}

test('esm: relative paths, extension and index probing, builtins, packages, unresolved', async () => {
  const { graph } = await fixture('esm');
  assert.is(graph.version, GRAPH_VERSION);
  assert.equal(edges(graph), [
    'src/main.js -> src/math/index.js (esm ./math/index.js)',
    'src/main.js -> src/util.js (esm ./util)',
    'src/math/index.js -> src/math/add.js (reexport ./add.js)',
    'src/math/index.js -> src/math/mul.mjs (reexport ./mul.mjs)',
  ]);
  assert.equal(graph.order, ['src/math/add.js', 'src/math/mul.mjs', 'src/math/index.js', 'src/util.js', 'src/main.js']);
  assert.equal(graph.external, {
    'src/main.js': [
      { specifier: 'node:fs', kind: 'esm', type: 'builtin', name: 'fs' },
      { specifier: 'yargs', kind: 'esm', type: 'package', name: 'yargs' },
    ],
    'src/util.js': [{ specifier: 'path', kind: 'esm', type: 'builtin', name: 'path' }],
  });
  assert.equal(unresolved(graph), [
    'src/main.js: ./nope.js not-found src/nope.js',
    'src/util.js: ../../outside.js outside-repository ../outside.js',
  ]);
  assert.equal(graph.cycles, []);
});

test('cjs: require, directory index, .json, package main as a directory, self-reference without exports', async () => {
  const { graph } = await fixture('cjs');
  assert.equal(edges(graph), [
    'index.js -> lib/helper.cjs (require ./lib/helper)',
    'index.js -> lib/index.js (require ./lib)',
    'lib/index.js -> lib/data.json (require ./data.json)',
    'test/run.js -> lib/helper.cjs (require cjs-demo/lib/helper)',
    'test/run.js -> lib/index.js (require ..)',
    'test/run.js -> lib/index.js (require cjs-demo)',
  ]);
  assert.equal(graph.order, [
    'lib/data.json',
    'lib/helper.cjs',
    'lib/index.js',
    'index.js',
    'package.json',
    'test/run.js',
  ]);
  assert.equal(graph.external['lib/helper.cjs'], [{ specifier: 'lodash/fp', kind: 'require', type: 'package', name: 'lodash' }]);
  assert.equal(graph.external['test/run.js'], [{ specifier: 'node:assert', kind: 'require', type: 'builtin', name: 'assert' }]);
  assert.equal(graph.unresolved, []);
});

test('mixed: esm importing cjs, require, dynamic import with a literal only', async () => {
  const { graph, facts } = await fixture('mixed');
  assert.equal(edges(graph), [
    'app.mjs -> lazy.js (dynamic ./lazy.js)',
    'app.mjs -> legacy.cjs (esm ./legacy.cjs)',
    'lazy.js -> shared.js (esm ./shared.js)',
    'legacy.cjs -> shared.js (require ./shared.js)',
  ]);
  assert.equal(graph.order, ['shared.js', 'lazy.js', 'legacy.cjs', 'app.mjs']);
  // import('./' + name) is not a literal: no import at all, not an unresolved one.
  assert.equal(facts.get('app.mjs')!.imports.map((i) => i.specifier), ['./legacy.cjs', './lazy.js']);
});

test('cycles: a 2-cycle, a 3-cycle and a self-import are grouped, ordered by path', async () => {
  const { graph } = await fixture('cycle');
  assert.equal(graph.cycles, [['a.js', 'b.js'], ['self.js'], ['x.js', 'y.js', 'z.js']]);
  assert.equal(graph.order, ['a.js', 'b.js', 'leaf.js', 'self.js', 'x.js', 'y.js', 'z.js', 'main.js']);
  assert.equal(edges(graph), [
    'a.js -> b.js (esm ./b.js)',
    'b.js -> a.js (esm ./a.js)',
    'main.js -> a.js (esm ./a.js)',
    'main.js -> x.js (esm ./x.js)',
    'self.js -> self.js (esm ./self.js)',
    'x.js -> y.js (esm ./y.js)',
    'y.js -> z.js (esm ./z.js)',
    'z.js -> leaf.js (esm ./leaf.js)',
    'z.js -> x.js (esm ./x.js)',
  ]);
});

test('exports: conditions, patterns, null, arrays, imports map, self-reference by scoped name', async () => {
  const { graph } = await fixture('exports');
  assert.equal(edges(graph), [
    'esm/index.mjs -> lib/utils/str.js (reexport ../lib/utils/str.js)',
    'lib/main.cjs -> lib/feature.js (require ./feature)',
    'test/self.test.mjs -> esm/index.mjs (esm @acme/kit)',
    'test/self.test.mjs -> lib/config-node.js (esm #cfg)',
    'test/self.test.mjs -> lib/feature.js (esm @acme/kit/feature)',
    'test/self.test.mjs -> lib/main.cjs (require @acme/kit)',
    'test/self.test.mjs -> lib/utils/str.js (esm @acme/kit/utils/str)',
    'test/self.test.mjs -> package.json (require @acme/kit/package.json)',
  ]);
  assert.equal(unresolved(graph), [
    'test/self.test.mjs: #missing imports-not-matched #missing',
    'test/self.test.mjs: @acme/kit/dist exports-target-missing dist/index.js',
    'test/self.test.mjs: @acme/kit/nope not-exported ./nope',
    'test/self.test.mjs: @acme/kit/utils/internal/secret not-exported ./utils/internal/secret',
  ]);
  assert.equal(graph.external['test/self.test.mjs'], [
    { specifier: '#dep', kind: 'esm', type: 'package', name: 'chalk' },
    { specifier: 'node:module', kind: 'esm', type: 'builtin', name: 'module' },
  ]);
});

test('syntax errors: the broken file still has its edge', async () => {
  const { graph } = await fixture('syntax');
  assert.equal(edges(graph), ['broken.js -> ok.js (esm ./ok.js)']);
  assert.equal(graph.order, ['ok.js', 'broken.js']);
});

test('the graph depends only on paths and import specifiers (early cutoff)', async () => {
  const before = await parseTask({ path: 'a.js', text: "import { b } from './b.js';\nexport function f(x) { return b(x); }\n" });
  const after = await parseTask({
    path: 'a.js',
    text: "// a comment that moves every line\n\nimport { b, c } from './b.js';\n/** doc */\nexport function f(x, y) {\n  return b(x) + y;\n}\nexport const g = 1;\n",
  });
  assert.not.equal(before, after);
  assert.equal(graphInputOf(before), graphInputOf(after));
  assert.equal(graphInputOf(before), { imports: [{ specifier: './b.js', kind: 'esm' }] });
  const files = (f: typeof before) => [{ path: 'a.js', facts: f }, { path: 'b.js' }];
  assert.equal(buildRepoGraph({ files: files(before) }), buildRepoGraph({ files: files(after) }));
});

test('graphInputOf sorts and deduplicates', () => {
  const input = graphInputOf({
    imports: [
      { specifier: './z', kind: 'require' },
      { specifier: './a', kind: 'esm' },
      { specifier: './z', kind: 'require' },
      { specifier: './a', kind: 'dynamic' },
    ],
  });
  assert.equal(input.imports, [
    { specifier: './a', kind: 'dynamic' },
    { specifier: './a', kind: 'esm' },
    { specifier: './z', kind: 'require' },
  ]);
});

test('the graph does not depend on input order', () => {
  const files = [
    { path: 'b.js', facts: { imports: [{ specifier: './a', kind: 'esm' as const }] } },
    { path: 'a.js', facts: { imports: [{ specifier: './b', kind: 'require' as const }] } },
    { path: 'c/d.js' },
  ];
  assert.equal(buildRepoGraph({ files }), buildRepoGraph({ files: [...files].reverse() }));
});

test('bad paths are refused with the path as the item', () => {
  for (const path of ['/abs.js', './a.js', 'a/../b.js', 'a//b.js']) {
    try {
      buildRepoGraph({ files: [{ path }] });
      assert.unreachable(path);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'STAGE_FAILED');
      assert.is((err as { item?: string }).item, path);
    }
  }
});

test('formatRepoGraph prints tree, order with cycles, edges and unresolved', async () => {
  const text = formatRepoGraph((await fixture('cycle')).graph);
  assert.ok(text.startsWith('languages\n  JavaScript: 8 files\n\nfiles (8)\n├── a.js\n'), text);
  assert.match(text, /order \(3 cycles\)\n +1\. a\.js {2}\[cycle 1\]\n/);
  assert.match(text, /\n {2}main\.js -> a\.js {2}\(esm '\.\/a\.js'\)\n/);
  assert.match(text, /\nunresolved \(0\)\n$/);
  const esm = formatRepoGraph((await fixture('esm')).graph);
  assert.match(esm, /└── src\/\n {4}├── math\/\n {4}│ {3}├── add\.js\n/);
  assert.match(esm, /\n {2}src\/main\.js: fs \(builtin\), yargs\n/);
  assert.match(esm, /src\/main\.js: '\.\/nope\.js' \(esm\) not-found: src\/nope\.js/);
});

test.run();
