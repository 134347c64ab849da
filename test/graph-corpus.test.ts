/**
 * The analysis over real packages from node_modules: every relative import whose target exists on
 * disk must resolve; the unresolved ones are printed with their reasons.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROBE_EXTENSIONS } from '../stages/graph/resolve.ts';
import { analyse, CORPUS, corpusRoot } from './fixtures/analysis/load.ts';

/** Whether Node or a bundler could find something at `path` (a file, with an extension, or an index). */
function existsOnDisk(path: string): boolean {
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  if (isFile(path) || PROBE_EXTENSIONS.some((e) => isFile(path + e))) return true;
  return PROBE_EXTENSIONS.some((e) => isFile(join(path, 'index' + e)));
}

for (const name of CORPUS) {
  test(`corpus: ${name}`, async () => {
    const root = corpusRoot(name);
    const { facts, graph } = await analyse(root);
    assert.ok(facts.size > 0, `${name}: no JavaScript files found`);
    const relative = [...facts.values()].reduce((n, f) => n + f.imports.filter((i) => i.specifier.startsWith('.')).length, 0);
    const problems: string[] = [];
    for (const u of graph.unresolved) {
      const line = `  ${name}/${u.from}: '${u.specifier}' (${u.kind}) ${u.reason}${u.detail ? ` ${u.detail}` : ''}`;
      console.log(line);
      if (u.specifier.startsWith('.') && u.reason === 'not-found' && existsOnDisk(join(root, u.detail!))) problems.push(line);
      if (u.reason === 'exports-target-missing' && existsSync(join(root, u.detail!))) problems.push(line);
    }
    assert.equal(problems, [], `${name}: resolvable imports left unresolved`);
    assert.ok(graph.edges.length > 0 || relative === 0, `${name}: no edges`);
    assert.is(graph.order.length, graph.files.length);
    assert.is(new Set(graph.order).size, graph.files.length);
  });
}

test.run();
