/**
 * The engine is a library that knows nothing of this pipeline: src/ imports nothing from stages/
 * or cli/, every error code written in the sources is registered, and a second, tiny pipeline
 * (line counts of text files, one JSON shard) runs on the engine with its own config section,
 * cache, explain history and versions.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runBuild, runStatus } from '../src/build/index.ts';
import type { EngineConfig } from '../src/config.ts';
import { registerCodes, registeredCodes, RetraceError } from '../src/errors.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { listVersions } from '../src/dataset.ts';
import { explainItem, matchItems } from '../src/explain.ts';
import type { Pipeline, PipelineRun } from '../src/pipeline.ts';
import { NullReporter } from '../src/reporter.ts';
import { defineStage } from '../src/stage.ts';
import '../stages/errors.ts';
import '../src/llm/errors.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs|js)$/.test(e.name)) out.push(p);
  }
  return out;
}

test('import graph: nothing under src/ imports stages/ or cli/ (static or dynamic)', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
      if (!m[1].startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(file), m[1]));
      if (/^(stages|cli)[/\\]/.test(target)) offenders.push(`${relative(ROOT, file)} -> ${m[1]}`);
    }
  }
  assert.equal(offenders, []);
  // The check itself can fail: a file that does import a stage is caught.
  const probe = "import { x } from '../stages/pipeline.ts';";
  assert.ok(/(?:from\s+)['"](\.\.\/stages\/[^'"]+)['"]/.test(probe));
});

test('every error code written in src/, stages/ and cli/ is registered with one meaning', () => {
  const used = new Map<string, string>();
  const patterns = [/new RetraceError\(\s*'([A-Z][A-Z0-9_]+)'/g, /\bcode: '([A-Z][A-Z0-9_]+)'/g, /\b(?:warn|onProblem)\(\s*'([A-Z][A-Z0-9_]+)'/g, /asRetraceError\([^)]*'([A-Z][A-Z0-9_]+)'/g];
  for (const dir of ['src', 'stages', 'cli']) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const re of patterns) for (const m of text.matchAll(re)) used.set(m[1], relative(ROOT, file));
    }
  }
  assert.ok(used.size > 20, `found ${used.size} codes in the sources`);
  const missing = [...used].filter(([code]) => !registeredCodes().has(code)).map(([c, f]) => `${c} (${f})`);
  assert.equal(missing, []);
  assert.throws(() => registerCodes('test', { USAGE: { kind: 'error', meaning: 'something else' } }), /registered twice/);
});

// ---- a second pipeline: line counts of the text files of one folder, written as one JSON shard

interface LinesConfig extends EngineConfig {
  lines: { dir: string; ext?: string };
}

declare module '../src/errors.ts' {
  interface ErrorCodes {
    LINES_DIR_MISSING: true;
  }
}
const LINES_CODES = registerCodes('lines pipeline (test)', { LINES_DIR_MISSING: { kind: 'error', meaning: 'the folder to count does not exist' } });

const countStage = defineStage<{ path: string; text: string }, { path: string; lines: number }>({
  name: 'count',
  version: '1',
  deps: [],
  description: 'count the lines of one file',
  item: (i) => i.path,
  key: (i) => ({ inputs: { content: createHash('sha256').update(i.text).digest('hex') }, settings: { path: i.path } }),
  run: async (i) => ({ path: i.path, lines: i.text.split('\n').length }),
});

const linesPipeline: Pipeline<LinesConfig> = {
  name: 'lines',
  stages: [countStage],
  config: {
    keys: ({ obj, str }) => ({ lines: obj({ dir: str, ext: str }, ['dir']) }),
    required: ['lines'],
  },
  errors: LINES_CODES,
  codeDirs: [],
  async run(run: PipelineRun<LinesConfig>) {
    const dir = resolve(run.loaded.dir, run.loaded.config.lines.dir);
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(run.loaded.config.lines.ext ?? '.txt')).sort();
    } catch {
      throw new RetraceError('LINES_DIR_MISSING', 'no such folder', { item: dir });
    }
    const counts: Array<{ path: string; lines: number }> = [];
    let stale = false;
    for (const n of names) {
      const r = await run.exec.attempt('count', n, async () => (await run.exec.run(countStage, { path: n, text: readFileSync(join(dir, n), 'utf8') })).value);
      if (r.ok) counts.push(r.value);
      else if (r.stale) stale = true;
    }
    if (stale) return undefined;
    const bytes = new TextEncoder().encode(JSON.stringify(counts));
    const blob = await run.blobs.put(bytes);
    return {
      documents: counts.length,
      tokens: counts.reduce((n, c) => n + c.lines, 0),
      shards: [{ file: 'counts.json', blob, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, rows: counts.length, tokens: counts.reduce((n, c) => n + c.lines, 0) }],
      pins: { dir: run.loaded.config.lines.dir },
      summary: { counted: counts.length },
    };
  },
};

test('a second pipeline runs on the engine: its config section, cache, explain and versions', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'retrace-lines-'));
  try {
    mkdirSync(join(tmp, 'txt'));
    writeFileSync(join(tmp, 'txt', 'a.txt'), 'one\ntwo\nthree');
    writeFileSync(join(tmp, 'txt', 'b.txt'), 'x');
    writeFileSync(join(tmp, 'lines.config.mjs'), "export default { name: 'line-counts', lines: { dir: 'txt' }, workers: 1 };");
    const opts = { config: join(tmp, 'lines.config.mjs'), reporter: new NullReporter(), recheck: true };

    const first = await runBuild(linesPipeline, opts);
    assert.is(first.name, 'line-counts');
    assert.is(first.documents, 2);
    assert.is(first.tokens, 4);
    assert.is(first.counted, 2, 'the pipeline adds its own summary field');
    assert.equal(first.stages.count, { items: 2, cached: 0, computed: 2, unchanged: 0, failed: 0, ms: first.stages.count.ms });
    assert.equal(JSON.parse(readFileSync(join(first.path, 'counts.json'), 'utf8')), [{ path: 'a.txt', lines: 3 }, { path: 'b.txt', lines: 1 }]);

    const again = await runBuild(linesPipeline, opts);
    assert.is(again.version, first.version);
    assert.is(again.stages.count.computed, 0);
    assert.is(again.stages.count.cached, 2);

    writeFileSync(join(tmp, 'txt', 'b.txt'), 'x\ny');
    const status = await runStatus(linesPipeline, opts);
    assert.is(status.upToDate, false);
    assert.equal(status.stale.map((s) => s.item), ['b.txt']);
    const edited = await runBuild(linesPipeline, opts);
    assert.is(edited.stages.count.computed, 1);
    assert.is.not(edited.version, first.version);
    assert.equal(listVersions(join(tmp, 'datasets')).map((v) => v.version).sort(), [first.version, edited.version].sort());

    const cache = LmdbCache.open(join(tmp, 'cache'));
    try {
      const [b] = matchItems(cache, 'b.txt');
      assert.equal(explainItem(b).changes.map((c) => c.field), ['inputs.content']);
    } finally {
      await cache.close();
    }

    // Its own config section: unknown keys and missing required keys are named by path.
    writeFileSync(join(tmp, 'bad.config.mjs'), "export default { name: 'x', lines: { dir: 'txt', depth: 2 } };");
    const bad = await runBuild(linesPipeline, { ...opts, config: join(tmp, 'bad.config.mjs') }).then(() => undefined, (e: unknown) => e as RetraceError);
    assert.instance(bad, RetraceError);
    assert.is(bad!.code, 'CONFIG_INVALID');
    assert.match(bad!.item!, /config\.lines\.depth/);
    writeFileSync(join(tmp, 'none.config.mjs'), "export default { name: 'x', format: 'raw' };");
    const none = await runBuild(linesPipeline, { ...opts, config: join(tmp, 'none.config.mjs') }).catch((e) => e as RetraceError);
    assert.match((none as RetraceError).item!, /config\.format/, 'a key of the other pipeline is unknown here');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
