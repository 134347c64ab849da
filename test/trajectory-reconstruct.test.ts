/**
 * Reconstruction against the loopback server, on a generated repository of 60 code files in
 * three directories (more than one plan call can describe with llm.maxTokens 1500): the plan is
 * written in parts and every file gets the model's purpose; a plan answer cut at max_tokens
 * (finish_reason "length") is continued; a malformed turn and a turn whose thought copies the
 * file are re-sampled with another seed, never sent identically; maxTurns bounds the turns;
 * no MaxListenersExceededWarning; a rebuild sends nothing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { queryShards } from './helpers/duckdb.ts';
import { startLlmServer } from './helpers/llm-server.ts';
import { execFileSync } from 'node:child_process';
import { checkDocuments, datasetDir, ok, project, removeProjects, ROOT, turnAnswer } from './fixtures/trajectory/harness.ts';
import { CONTINUE_MESSAGE, resampleSeed } from '../stages/llm/providers.ts';

const DIRS = ['a', 'b', 'c'];
const PER_DIR = 20;
const FILES = DIRS.length * PER_DIR;
const repo = mkdtempSync(join(tmpdir(), 'retrace-scale-'));
writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'scale', version: '1.0.0', description: 'Sixty small steps.' }) + '\n');
for (const d of DIRS) {
  mkdirSync(join(repo, d));
  for (let k = 1; k <= PER_DIR; k++) {
    const prev = k > 1 ? `const prev = require('./f${String(k - 1).padStart(2, '0')}.js');\n` : '';
    const body = k > 1 ? `prev.${d}${k - 1}(x) * ${k} + ${k}` : `x + ${k}`;
    writeFileSync(
      join(repo, d, `f${String(k).padStart(2, '0')}.js`),
      `${prev}/** Step ${k} of the ${d} chain: multiplies the previous step by its index and adds the index again. */\nfunction ${d}${k}(x) {\n  return ${body};\n}\n\nmodule.exports = { ${d}${k} };\n`,
    );
  }
}

// A Markdown file whose lines look like the document's own headers and actions: the document
// still round-trips (each Write runs to its own end marker).
writeFileSync(join(repo, 'NOTES.md'), '# Notes\n\n### Heading\n\n## Plan\n1. a/f01.js: not the plan\n\n### 1/60 a/f01.js\nThink: not a thought\nAction: Write a/f01.js\n');

const PART2 = /This is part 2 of|This is part 2:/;
const planFull = (user: string): string => {
  const paths = [...user.matchAll(/^\d+\. (\S+) \(\d+ lines/gm)].map((m) => m[1]!);
  const later = /This is part [2-9]/.test(user);
  return JSON.stringify({ ...(!later && { requirements: 'Sixty chained steps, computed in order.' }), files: paths.map((p) => ({ path: p, purpose: `Model purpose of ${p}.` })) });
};
const isPlan = (req: any): boolean => String(req.messages[0].content).includes('file-level implementation plan');
const fileOf = (req: any): string => /^Your file: (\S+)/m.exec(String(req.messages[1].content))?.[1] ?? '';
const cutPart2 = (req: any): boolean => isPlan(req) && PART2.test(String(req.messages[1].content)) && req.messages.length === 2;

const server = await startLlmServer({
  answer(req) {
    if (isPlan(req)) {
      const full = planFull(String(req.messages[1].content));
      if (cutPart2(req)) return full.slice(0, full.length >> 1);
      if (req.messages.length === 4) return full.slice(String(req.messages[2].content).length); // the continuation
      return full;
    }
    if (fileOf(req) === 'b/f03.js' && req.seed === 0) return 'I would rather describe it in prose.';
    if (fileOf(req) === 'c/f05.js' && req.seed === 0) {
      return JSON.stringify({ overview: 'Step 5 of the c chain: multiplies the previous step by its index and adds the index again.', think: 'Write it.', action: 'write' });
    }
    return turnAnswer(req);
  },
  finishReason: (req) => (cutPart2(req) ? 'length' : 'stop'),
});

test('a large repository is planned in parts, cut answers continued, bad turns re-sampled with new seeds', async () => {
  const p = project({
    sources: [repo],
    llm: { provider: 'openai', endpoint: { baseURL: server.url, model: 'test-model', timeoutMs: 5000, maxConcurrency: 16 }, maxTokens: 1500, maxTurns: 1, contextTokens: 8192 },
  });
  const from = server.log.length;
  const r = await p.build();
  const s = ok(r);
  assert.not.match(r.stderr, /MaxListenersExceededWarning/);
  const log = server.log.slice(from).filter((e) => e.path === '/v1/chat/completions');
  const plans = log.filter((e) => isPlan(e.body));
  const partCalls = plans.filter((e) => e.body.messages.length === 2);
  assert.ok(partCalls.length >= 3, `${partCalls.length} plan calls for ${FILES} files`);
  for (const e of partCalls) assert.ok(e.body.max_tokens <= 1500, `max_tokens ${e.body.max_tokens}`);
  // Each file is described by exactly one part.
  const described = partCalls.flatMap((e) => [...String(e.body.messages[1].content).matchAll(/^\d+\. (\S+) \(\d+ lines/gm)].map((m) => m[1]!));
  assert.is(described.length, FILES);
  assert.is(new Set(described).size, FILES);
  // The cut part-2 answer was continued: one more request, with the partial answer and the continue message.
  const cont = plans.filter((e) => e.body.messages.length === 4);
  assert.is(cont.length, 1);
  assert.is(cont[0]!.body.messages[2].role, 'assistant');
  assert.is(cont[0]!.body.messages[3].content, CONTINUE_MESSAGE);

  // maxTurns 1: one turn per file, plus one re-sample for each of the two bad turns, each with a new seed.
  const turns = log.filter((e) => !isPlan(e.body));
  assert.is(turns.length, FILES + 2);
  for (const f of ['b/f03.js', 'c/f05.js']) {
    const seeds = turns.filter((e) => fileOf(e.body) === f).map((e) => e.body.seed);
    assert.equal(seeds, [0, resampleSeed(0, 1)], `${f}: seeds ${seeds}`);
  }
  assert.is(s.llm.requests, partCalls.length + 1 + FILES + 2);

  const [row] = await queryShards(`SELECT text FROM read_parquet('${datasetDir(p, s.version)}/data/*.parquet')`);
  const text = String(row!.text);
  for (const d of DIRS) for (let k = 1; k <= PER_DIR; k++) {
    const path = `${d}/f${String(k).padStart(2, '0')}.js`;
    assert.match(text, new RegExp(`^\\d+\\. ${path.replace('.', '\\.')}: Model purpose of ${path.replace('.', '\\.')}\\.$`, 'm'));
  }
  assert.not.match(text, /Step 5 of the c chain: multiplies the previous step by its index and adds the index again\.\nThink/);
  assert.not.ok(text.includes('Action: Read'), 'maxTurns 1 leaves no turn for a Read');
  const manifest = JSON.parse(readFileSync(join(datasetDir(p, s.version), 'manifest.json'), 'utf8'));
  const check = await checkDocuments(datasetDir(p, s.version), { [manifest.sources[0].document]: repo });
  assert.is(check.writes, FILES + 2);

  // The cached answer records the seed that gave it and the rejected sample.
  const shown = execFileSync(process.execPath, [join(ROOT, 'bin/retrace.js'), 'show', 'llm', `${manifest.sources[0].document}:b/f03.js@0`, '--json', '--config', join(p.dir, 'pipeline.config.ts'), '--cache-dir', join(p.dir, 'cache')], { encoding: 'utf8' });
  const record = JSON.parse(shown);
  assert.is(record.seed, resampleSeed(0, 1));
  assert.is(record.rejected.length, 1);
  assert.is(record.rejected[0].seed, 0);
  assert.match(record.rejected[0].problem, /JSON/);

  const again = ok(await p.build());
  assert.is(again.llm.requests, 0);
  assert.is(again.version, s.version);
});

test.after(async () => {
  await server.close();
  removeProjects();
  rmSync(repo, { recursive: true, force: true });
});
test.run();
