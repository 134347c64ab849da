/**
 * Issue 13, acceptance 2: one small repository per resolution rule, with hand-checked edges,
 * unresolved reasons and orders. Facts come from the real parser, the graph from buildRepoGraph.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRepoGraph, formatRepoGraph, type RepoGraph } from '../stages/graph/index.ts';
import { parseJsonc, pythonSourceRoots } from '../stages/graph/configs.ts';
import parseTask, { languageFor } from '../stages/parse/task.ts';

/** files: path -> text. Code files are parsed; tsconfig/pyproject/package.json go in as configs. */
async function graphOf(files: Record<string, string>): Promise<RepoGraph> {
  const list = [];
  for (const [path, text] of Object.entries(files)) {
    list.push({ path, facts: languageFor(path) ? await parseTask({ path, text }) : undefined });
  }
  const configs = Object.entries(files)
    .filter(([p]) => /(^|\/)(tsconfig[^/]*\.json|pyproject\.toml|setup\.cfg)$/.test(p) || (p.endsWith('/package.json')))
    .map(([path, text]) => ({ path, text }));
  const packageJson = files['package.json'] ? JSON.parse(files['package.json']) : undefined;
  return buildRepoGraph({ files: list, packageJson, configs });
}
const edges = (g: RepoGraph) => g.edges.map((e) => `${e.from} -> ${e.to}${e.weak ? ' (weak)' : ''}`);
const unresolved = (g: RepoGraph) => g.unresolved.map((u) => `${u.from}: ${u.specifier} ${u.reason}`);

test('TypeScript: ./x.js names x.ts or x.tsx, .mjs names .mts, directories give index.ts; import type is an edge', async () => {
  const g = await graphOf({
    'src/main.ts': [
      "import { a } from './a.js';",
      "import { View } from './view.js';",
      "import { m } from './m.mjs';",
      "import type { T } from './types';",
      "import { u } from './util';",
      "export { k } from './k';",
      "import x = require('./legacy');",
      "import { gone } from './missing.js';",
      "import { readFile } from 'node:fs';",
      "import * as path from 'path';",
      "import { z } from 'zod';",
    ].join('\n'),
    'src/a.ts': 'export const a = 1;',
    'src/view.tsx': 'export const View = () => <div />;',
    'src/m.mts': 'export const m = 1;',
    'src/types.d.ts': 'export type T = string;',
    'src/util/index.ts': "export const u = 1;",
    'src/k.ts': 'export const k = 1;',
    'src/legacy.js': 'module.exports = 1;',
  });
  assert.equal(edges(g), [
    'src/main.ts -> src/a.ts',
    'src/main.ts -> src/k.ts',
    'src/main.ts -> src/legacy.js',
    'src/main.ts -> src/m.mts',
    'src/main.ts -> src/types.d.ts',
    'src/main.ts -> src/util/index.ts',
    'src/main.ts -> src/view.tsx',
  ]);
  assert.equal(unresolved(g), ['src/main.ts: ./missing.js not-found']);
  assert.equal(g.unresolved[0].detail, 'src/missing.js');
  assert.equal(g.external['src/main.ts'].map((x) => `${x.name} ${x.type}`), ['fs builtin', 'path builtin', 'zod package']);
  assert.is(g.order[g.order.length - 1], 'src/main.ts');
});

test('TypeScript: tsconfig paths and baseUrl, through extends, for the files under that tsconfig', async () => {
  const g = await graphOf({
    'tsconfig.base.json': '{\n  // comments and trailing commas, as tsc allows\n  "compilerOptions": { "baseUrl": "./src", "paths": { "@app/*": ["app/*", "fallback/*"], "@config": ["config/index.ts"], }, },\n}',
    'tsconfig.json': '{ "extends": "./tsconfig.base.json", "include": ["src"] }',
    'src/main.ts': "import { x } from '@app/x';\nimport { y } from '@app/y';\nimport { c } from '@config';\nimport { log } from 'utils/log';\nimport { n } from '@app/none';\n",
    'src/app/x.ts': 'export const x = 1;',
    'src/fallback/y.ts': 'export const y = 1;',
    'src/config/index.ts': 'export const c = 1;',
    'src/utils/log.ts': 'export const log = 1;',
    'tools/tsconfig.json': '{ "compilerOptions": { "paths": { "@app/*": ["./other/*"] } } }',
    'tools/run.ts': "import { x } from '@app/x';\n",
    'tools/other/x.ts': 'export const x = 2;',
  });
  assert.equal(edges(g), [
    'src/main.ts -> src/app/x.ts',
    'src/main.ts -> src/config/index.ts',
    'src/main.ts -> src/fallback/y.ts',
    'src/main.ts -> src/utils/log.ts',
    'tools/run.ts -> tools/other/x.ts',
  ]);
  assert.equal(unresolved(g), ['src/main.ts: @app/none not-found']);
  assert.is(g.unresolved[0].detail, 'src/app/none | src/fallback/none');
});

test('TypeScript: a workspace\'s own packages and the root package through exports/types map to sources', async () => {
  const g = await graphOf({
    'package.json': JSON.stringify({ name: 'root-app', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './feature': './src/feature.ts' } }),
    'packages/core/package.json': JSON.stringify({ name: '@ws/core', types: 'dist/index.d.ts' }),
    'packages/core/src/index.ts': 'export const core = 1;',
    'packages/ui/package.json': JSON.stringify({ name: '@ws/ui', exports: { './button': './src/button.tsx' } }),
    'packages/ui/src/button.tsx': 'export const B = () => <b />;',
    'src/index.ts': "import { core } from '@ws/core';\nimport { B } from '@ws/ui/button';\nimport { f } from 'root-app/feature';\nimport { nope } from '@ws/ui/hidden';\n",
    'src/feature.ts': 'export const f = 1;',
    'test/index.test.ts': "import { core } from 'root-app';\nimport whole from '..';\n",
  });
  assert.equal(edges(g), [
    'src/index.ts -> packages/core/src/index.ts',
    'src/index.ts -> packages/ui/src/button.tsx',
    'src/index.ts -> src/feature.ts',
    'test/index.test.ts -> src/index.ts', // '..': the root package's entry
    'test/index.test.ts -> src/index.ts', // 'root-app'
  ]);
  assert.equal(unresolved(g), ['src/index.ts: @ws/ui/hidden not-exported']);
});

test('Python: relative, absolute and `from pkg import submodule`; __init__ re-exports; builtins and packages', async () => {
  const g = await graphOf({
    'pkg/__init__.py': 'from .core import Engine\nfrom .util import helper\n__all__ = ["Engine", "helper"]\n',
    'pkg/core.py': 'import os\nfrom . import util\nfrom .sub import deep\nimport requests\n\nclass Engine:\n    pass\n',
    'pkg/util.py': 'def helper():\n    pass\n',
    'pkg/sub/__init__.py': '',
    'pkg/sub/deep.py': 'from .. import util\nfrom ...outside import x\n',
    'app.py': 'from pkg import Engine, sub\nimport pkg.core\nfrom pkg.missing import y\n',
  });
  assert.equal(edges(g), [
    'app.py -> pkg/__init__.py',
    'app.py -> pkg/core.py',
    'app.py -> pkg/sub/__init__.py',
    'pkg/__init__.py -> pkg/core.py',
    'pkg/__init__.py -> pkg/util.py',
    'pkg/core.py -> pkg/sub/deep.py',
    'pkg/core.py -> pkg/util.py',
    'pkg/sub/deep.py -> pkg/util.py',
  ]);
  assert.equal(unresolved(g), ['app.py: pkg.missing not-found', 'pkg/sub/deep.py: ...outside outside-repository']);
  assert.equal(g.external['pkg/core.py'].map((x) => `${x.name} ${x.type}`), ['os builtin', 'requests package']);
  // A folder named like a standard-library module, without __init__.py, does not shadow it.
  const shadow = await graphOf({ 'logging/notes.py': 'x = 1\n', 'main.py': 'import logging\nimport logging.notes\n' });
  assert.equal(edges(shadow), []);
  assert.equal(shadow.external['main.py'].map((x) => `${x.name} ${x.type}`), ['logging builtin', 'logging builtin']);
  assert.equal(g.order, ['pkg/sub/__init__.py', 'pkg/util.py', 'pkg/sub/deep.py', 'pkg/core.py', 'pkg/__init__.py', 'app.py']);
});

test('Python: src layout and roots named in pyproject.toml / setup.cfg', async () => {
  const g = await graphOf({
    'pyproject.toml': '[project]\nname = "tool"\n\n[tool.setuptools.packages.find]\nwhere = ["lib"]\n',
    'src/alpha/__init__.py': 'from alpha.beta import b\n',
    'src/alpha/beta.py': 'b = 1\n',
    'lib/tool/__init__.py': 'import alpha\nfrom tool import cli\n',
    'lib/tool/cli.py': 'import tool\n',
    'tests/test_cli.py': 'from tool.cli import main\n',
  });
  assert.equal(edges(g), [
    'lib/tool/__init__.py -> lib/tool/cli.py',
    'lib/tool/__init__.py -> src/alpha/__init__.py',
    'lib/tool/cli.py -> lib/tool/__init__.py',
    'src/alpha/__init__.py -> src/alpha/beta.py',
    'tests/test_cli.py -> lib/tool/cli.py',
  ]);
  assert.equal(g.cycles, [['lib/tool/__init__.py', 'lib/tool/cli.py']]);
  assert.equal(pythonSourceRoots('[tool.setuptools]\npackage-dir = {"" = "src"}\n'), ['src']);
  assert.equal(pythonSourceRoots('[options]\npackage_dir =\n    =source\n'), ['source']);
  assert.equal(pythonSourceRoots('[tool.poetry]\npackages = [{ include = "x", from = "python" }]\n'), ['python']);
  assert.equal(pythonSourceRoots('[tool.hatch.build.targets.wheel]\npackages = ["code/mypkg"]\n'), ['code']);
});

test('Python: lazy and try/except imports are weak: they order ties and break cycles, never force', async () => {
  const g = await graphOf({
    // a imports b at the top; b imports a only inside a function: b first, no cycle.
    'a.py': 'import b\n',
    'b.py': 'def later():\n    import a\n    return a\n',
    // c is a tie with d; c lazily uses d: d is placed first although 'c' < 'd'.
    'c.py': 'def f():\n    from d import g\n',
    'd.py': 'def g():\n    pass\n',
    // try: import fast / except ImportError: the optional speedup is weak.
    'e.py': 'try:\n    from fast import speed\nexcept ImportError:\n    speed = None\n',
    'fast.py': 'import e\n',
    // a real cycle: both at the top level.
    'x.py': 'import y\n',
    'y.py': 'from x import thing\n',
  });
  assert.equal(edges(g), [
    'a.py -> b.py',
    'b.py -> a.py (weak)',
    'c.py -> d.py (weak)',
    'e.py -> fast.py (weak)',
    'fast.py -> e.py',
    'x.py -> y.py',
    'y.py -> x.py',
  ]);
  assert.equal(g.cycles, [['x.py', 'y.py']]);
  assert.match(formatRepoGraph(g), /\n  b\.py -> a\.py  \(py-import 'a', weak\)\n/);
  const pos = (f: string) => g.order.indexOf(f);
  assert.ok(pos('b.py') < pos('a.py'), 'the strong import decides');
  assert.ok(pos('d.py') < pos('c.py'), 'the weak import breaks the tie');
  assert.ok(pos('e.py') < pos('fast.py'), 'the guarded import never forces');
  assert.is(pos('y.py'), pos('x.py') + 1, 'a cycle stays together');
});

test('one order over a mixed repository; show facts names the languages and the other files', async () => {
  const g = await graphOf({
    'server/__init__.py': '',
    'server/app.py': 'from server import api\n',
    'server/api.py': 'import json\n',
    'web/main.ts': "import { api } from './api.js';\n",
    'web/api.ts': 'export const api = 1;',
    'web/legacy.js': "const m = require('./api');",
    'web/types.d.ts': 'export type X = 1;',
    'README.md': '# x',
    'data.json': '{}',
  });
  assert.equal(g.order.filter((f) => languageFor(f)), [
    'server/__init__.py', 'server/api.py', 'server/app.py', 'web/api.ts', 'web/legacy.js', 'web/main.ts', 'web/types.d.ts',
  ]);
  // legacy.js's require('./api') follows Node's rules: api.ts is not a Node module.
  assert.equal(unresolved(g), ['web/legacy.js: ./api not-found']);
  const text = formatRepoGraph(g);
  assert.match(text, /^languages\n  JavaScript: 1 file\n  Python: 3 files\n  TypeScript: 3 files \(1 declaration-only\)\n  other files \(no grammar, no facts\): 2 \(\.json 1, \.md 1\)\n/);
});

test('configs: JSON with comments; a broken tsconfig is reported, not fatal', async () => {
  assert.equal(parseJsonc('{ "a": "//not a comment", /* b */ "c": [1, 2,], }'), { a: '//not a comment', c: [1, 2] });
  const g = await graphOf({ 'tsconfig.json': '{ "compilerOptions": ', 'a.ts': "import { b } from './b';", 'b.ts': '' });
  assert.equal(edges(g), ['a.ts -> b.ts']);
  assert.equal(g.configProblems?.map((p) => p.path), ['tsconfig.json']);
  assert.match(formatRepoGraph(g), /project files not used \(1\)\n  tsconfig\.json: invalid JSON/);
});

test.run();
