/** Briefs and the offline provider speak each language's terms (issue 13). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRepoGraph } from '../stages/graph/index.ts';
import { structuralPurpose, structuralSteps } from '../stages/llm/offline.ts';
import { briefOf, renderBrief } from '../stages/plan/brief.ts';
import parseTask from '../stages/parse/task.ts';

async function brief(path: string, text: string) {
  const facts = await parseTask({ path, text });
  return briefOf(path, facts, buildRepoGraph({ files: [{ path, facts }] }));
}

test('Python: def, property, attribute, __all__; no dunder metadata, no JavaScript words', async () => {
  const b = await brief('pkg/m.py', [
    '__all__ = ["Box", "make"]',
    '__version__ = "1.0"',
    'LIMIT = 3',
    'def make(n, *, size=1):',
    '    """Make a box."""',
    'class Box:',
    '    kind = "box"',
    '    @property',
    '    def volume(self):',
    '        return 1',
    '    def grow(self, by):',
    '        pass',
  ].join('\n') + '\n');
  assert.equal(b.definitions, ['name LIMIT', 'def make(n, *, size=1)', 'class Box', 'attribute Box.kind', 'property Box.volume', 'method Box.grow(self, by)']);
  assert.equal(b.docs, ['make: Make a box.']);
  assert.match(renderBrief(b), /^pkg\/m\.py \(12 lines, Python\)/);
  const purpose = structuralPurpose(b);
  assert.match(purpose, /lists Box and make in __all__/);
  assert.not.match(purpose, /module\.exports|function|exports /);
  const steps = structuralSteps({ kind: 'implement', file: b, position: 1, total: 1, readable: [] });
  assert.match(steps.write, /__all__ \(Box and make\)/);
});

test('TypeScript: interface, type, enum, getter, field; export =; declaration files', async () => {
  const b = await brief('src/a.ts', 'export interface Opts { a: number }\nexport type Id = string;\nexport enum Mode { A }\nclass K { x = 1; get y() { return 1 } }\nexport = K;\n');
  assert.equal(b.definitions, ['interface Opts', 'type Id', 'enum Mode', 'class K', 'field K.x', 'getter K.y']);
  assert.ok(b.exports.includes('export ='));
  assert.not.ok(b.exports.includes('module.exports'));
  const d = await brief('types/index.d.ts', 'export declare function f(a: number): string;\n');
  assert.is(d.declarations, true);
  assert.match(renderBrief(d), /\(1 lines, TypeScript declarations\)/);
  assert.match(structuralPurpose(d), /^Declares types only/);
});

test('JavaScript keeps its words: function, method, module.exports', async () => {
  const b = await brief('lib/app.js', "var app = module.exports = {};\napp.init = function init() {};\nfunction helper(a) {}\n");
  assert.equal(b.definitions, ['method app.init()', 'function helper(a)']);
  assert.match(renderBrief(b), /\(3 lines, JavaScript\)/);
});

test.run();
