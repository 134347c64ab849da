/**
 * Issue 13, acceptance 1 (build part): `retrace build` over a real TypeScript package
 * (flatbuffers from node_modules: ts/ sources, .d.ts declarations and compiled JavaScript) and
 * real Python packages (json and email from the machine's python3 standard library), in the raw
 * and the trajectory formats: every code file appears verbatim, and at least 95% of the internal
 * imports found by the independent scanner (helpers/import-scanner.ts) come before their importer
 * in the document, cycles excepted. Offline provider: no network.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readShard } from './helpers/duckdb.ts';
import { checkDocuments, datasetDir, ok, project, removeProjects, ROOT } from './fixtures/trajectory/harness.ts';
import { listFiles } from './fixtures/analysis/load.ts';
import { orderScore, pythonRepo, scanPython, scanTypeScript } from './helpers/import-scanner.ts';
import { languageFor } from '../stages/parse/task.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-lang-build-'));
const REPOS: Record<string, string> = {
  flatbuffers: join(ROOT, 'node_modules/flatbuffers'),
  json: pythonRepo('json', tmp),
  email: pythonRepo('email', tmp),
};

function scanned(root: string) {
  const files = new Set(listFiles(root));
  const read = (p: string) => readFileSync(join(root, p), 'utf8');
  return { files, edges: [...scanTypeScript(files, read), ...scanPython(files, read)] };
}

/** Code files of a repository that the build did not skip (minified bundles are skipped, with a reason). */
function codeFiles(dir: string, id: string, root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const source = manifest.sources.find((x: any) => x.document === id);
  const skipped = new Set(source.skipped.map((x: any) => x.path));
  return listFiles(root).filter((f) => languageFor(f) && !skipped.has(f));
}

async function rows(dir: string): Promise<Array<{ id: string; text: string }>> {
  const { readdirSync } = await import('node:fs');
  const out = [];
  for (const shard of readdirSync(dir).filter((f) => f.endsWith('.parquet'))) {
    for (const row of await readShard(join(dir, shard))) out.push({ id: String(row.id), text: String(row.text) });
  }
  return out;
}

function checkOrder(id: string, placed: string[], root: string): void {
  const { files, edges } = scanned(root);
  const score = orderScore(placed, edges, files);
  assert.ok(score.total >= 3, `${id}: ${score.total} scanned imports`);
  assert.ok(score.share >= 0.95, `${id}: ${score.before}/${score.total} before; late: ${score.late.slice(0, 5).join('; ')}`);
}

test('raw format: every code file verbatim, imports before importers', async () => {
  const p = project({ sources: Object.values(REPOS) });
  const config = readFileSync(join(p.dir, 'pipeline.config.ts'), 'utf8').replace('"format": "trajectory"', '"format": "raw"');
  (await import('node:fs')).writeFileSync(join(p.dir, 'pipeline.config.ts'), config);
  const s = ok(await p.build());
  assert.is(s.documents, 3);
  for (const { id, text } of await rows(datasetDir(p, s.version))) {
    const root = REPOS[id];
    assert.ok(root, id);
    const placed = [...text.matchAll(/^--- file: (.+) ---\n/gm)].map((m) => m[1]);
    const code = codeFiles(datasetDir(p, s.version), id, root);
    assert.ok(code.length >= 5, `${id}: ${code.length} code files`);
    for (const f of code) {
      const content = readFileSync(join(root, f), 'utf8');
      assert.ok(text.includes(`--- file: ${f} ---\n${content}`), `${id}: ${f} is not verbatim`);
    }
    checkOrder(id, placed, root);
  }
});

test('trajectory format: every code file written verbatim (Write), imports before importers', async () => {
  const p = project({ sources: Object.values(REPOS) });
  const s = ok(await p.build());
  assert.is(s.llm.requests, 0);
  const dir = datasetDir(p, s.version);
  // The manifest pins the parser versions of the languages the sources contain, and only those.
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.equal(Object.keys(manifest.versions.parser), ['javascript', 'python', 'typescript']);
  const check = await checkDocuments(dir, REPOS);
  assert.ok(check.writes > 100, `${check.writes} writes`);
  for (const { id, text } of await rows(dir)) {
    const root = REPOS[id];
    const written = [...text.matchAll(/^Action: Write (.+)\n/gm)].map((m) => m[1]);
    for (const f of codeFiles(dir, id, root)) assert.ok(written.includes(f), `${id}: ${f} not written`);
    checkOrder(id, written, root);
    // The trajectory's own text (the file contents removed: json's docstring says "JavaScript
    // Object Notation") speaks the language of the repository.
    let own = text;
    for (const f of listFiles(root)) {
      const content = readFileSync(join(root, f), 'utf8');
      if (content) own = own.split(content).join('');
    }
    if (id !== 'flatbuffers') {
      const js = /module\.exports|JavaScript/.exec(own);
      assert.is(js, null, `${id}: JavaScript terms in a Python trajectory: ${js && own.slice(js.index - 200, js.index + 50)}`);
      assert.match(own, /Python/);
      assert.match(own, /in __all__/, `${id}: Python public names are __all__`);
    } else assert.match(own, /TypeScript/);
  }
});

test.after(() => {
  removeProjects();
  rmSync(tmp, { recursive: true, force: true });
});
test.run();
