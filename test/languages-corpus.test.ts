/**
 * Issue 13, acceptance 1 (analysis part): on real TypeScript packages from node_modules that ship
 * their sources and on real Python packages of the machine's python3 standard library, at least
 * 95% of the internal imports that an independent scanner finds (regular expressions written
 * in helpers/import-scanner.ts, not the product's resolver) come before their importer in the implementation order,
 * edges inside the scanner's own cycles excepted. The builds over the same kind of repositories
 * are in languages-build.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyse, corpusRoot, listFiles } from './fixtures/analysis/load.ts';
import { orderScore, PY_REPOS, pythonRepo, scanPython, scanTypeScript, TS_REPOS } from './helpers/import-scanner.ts';

// ---- the tests ----------------------------------------------------------------------------

for (const name of TS_REPOS) {
  test(`TypeScript ${name}: scanned internal imports come before their importer`, async () => {
    const root = corpusRoot(name);
    assert.ok(existsSync(root), `${name} is installed with the project`);
    const { facts, graph } = await analyse(root);
    const files = new Set(listFiles(root));
    const ts = [...facts.values()].filter((f) => f.language === 'typescript' && !f.declarations).length;
    assert.ok(ts >= 10, `${name}: ${ts} TypeScript source files`);
    const edges = scanTypeScript(files, (p) => readFileSync(join(root, p), 'utf8'));
    const score = orderScore(graph.order, edges, files);
    assert.ok(score.total >= 15, `${name}: ${score.total} scanned imports`);
    assert.ok(score.share >= 0.95, `${name}: ${score.before}/${score.total} before; late: ${score.late.slice(0, 5).join('; ')}`);
    // Every scanned edge is also one of the product's edges (the product may find more).
    const product = new Set(graph.edges.map((e) => `${e.from} -> ${e.to}`));
    const missing = edges.filter(([a, b]) => !product.has(`${a} -> ${b}`));
    assert.ok(missing.length <= edges.length * 0.02, `${name}: product misses ${missing.slice(0, 5).join('; ')}`);
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'retrace-py-'));
for (const name of PY_REPOS) {
  test(`Python stdlib ${name}: scanned internal imports come before their importer`, async () => {
    const root = pythonRepo(name, tmp);
    const { facts, graph } = await analyse(root);
    const files = new Set(listFiles(root));
    assert.ok([...facts.values()].every((f) => f.language === 'python'));
    assert.ok(facts.size >= 4, `${name}: ${facts.size} Python files`);
    const edges = scanPython(files, (p) => readFileSync(join(root, p), 'utf8'));
    const score = orderScore(graph.order, edges, files);
    assert.ok(score.total >= 3, `${name}: ${score.total} scanned imports`);
    assert.ok(score.share >= 0.95, `${name}: ${score.before}/${score.total} before; late: ${score.late.slice(0, 5).join('; ')}`);
    const product = new Set(graph.edges.map((e) => `${e.from} -> ${e.to}`));
    const missing = edges.filter(([a, b]) => !product.has(`${a} -> ${b}`));
    assert.ok(missing.length <= Math.ceil(edges.length * 0.02), `${name}: product misses ${missing.slice(0, 5).join('; ')}`);
    // Standard-library imports are external builtins, like Node's core modules.
    const builtins = Object.values(graph.external).flat().filter((x) => x.type === 'builtin').map((x) => x.name);
    assert.ok(builtins.length > 0 && builtins.every((b) => b !== name), `${name}: ${builtins.slice(0, 5)}`);
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
