/**
 * The trajectory format against the loopback OpenAI-compatible server, through the real
 * `retrace` binary on two small fixture repositories: one request per planned call and none on
 * a rebuild, prompt edits re-send only the calls whose request changed, faults do not change the
 * result or re-send a finished call, a build killed mid-way resumes without paying twice, and the
 * documents hold the repositories' exact bytes with observations loss-masked.
 */
import { runCli } from './helpers/project.ts';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { queryShards } from './helpers/duckdb.ts';
import { startLlmServer } from './helpers/llm-server.ts';
import { checkDocuments, datasetDir, finished, FIXTURES, jsonAnswer, ok, project, removeProjects, ROOT, spawnRetrace, successes } from './fixtures/trajectory/harness.ts';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';

const CALC = join(FIXTURES, 'calc');
const NOTES = join(FIXTURES, 'notes');
const SOURCES = [CALC, NOTES];
const ROOTS = { calc: CALC, notes: NOTES };
/**
 * calc: 1 plan + 3 code files; notes: 1 plan + 4 code files. A file's loop takes one turn per
 * dependency it reads (the server's answers read every written dependency) plus its Write:
 * calc 1 + 3 + 3 turns, notes 1 + 1 + 3 + 3.
 */
const PLAN_CALLS = 2;
const FILES = 7;
const FILE_CALLS = 15;
const PLANNED = PLAN_CALLS + FILE_CALLS;
const CONTEXT = 6144;

const server = await startLlmServer({ answer: jsonAnswer });
const endpoint = (baseURL: string, extra: Record<string, unknown> = {}) => ({
  provider: 'openai',
  contextTokens: CONTEXT,
  // 5 s per request, as in the other files: the call counts below fail if a loaded machine makes
  // an answered request time out and be sent again (1 s did at load 40).
  endpoint: { baseURL, model: 'test-model', timeoutMs: 5000, maxRetries: 8, maxConcurrency: 4, ...extra },
});
let baseVersion = '';

test('one request per planned call, none on a rebuild; plans repaired; documents hold the exact bytes', async () => {
  const p = project({ sources: SOURCES, llm: endpoint(server.url) });
  const from = server.log.length;
  const s1 = ok(await p.build());
  assert.is(s1.llm.requests, PLANNED);
  assert.is(s1.llm.plan.requests, PLAN_CALLS);
  assert.is(s1.llm.implement.requests, FILE_CALLS);
  assert.is(s1.stages.llm.computed, PLANNED);
  assert.is(s1.stages.implement.computed, FILES);
  assert.ok(s1.llm.promptTokens > 0 && s1.llm.completionTokens > 0);
  assert.is(successes(server.log.slice(from)).length, PLANNED);

  // Every turn of a file's loop carries the file's real content; every turn after a Read carries
  // the Read's real content; no request exceeds the configured context (exact Llama-3 tokens of
  // every message, plus max_tokens).
  const tok = await loadLlama3Tokenizer();
  const turns = server.log.slice(from).map((e) => e.body).filter((b) => !String(b.messages[0].content).includes('file-level implementation plan'));
  assert.is(turns.length, FILE_CALLS);
  for (const b of turns) {
    const user = String(b.messages[1].content);
    const path = /^Your file: (\S+)/m.exec(user)![1]!;
    const root = path.startsWith('src/') ? CALC : NOTES;
    assert.ok(user.includes(`--- ${path} ---\n${readFileSync(join(root, path), 'utf8').replace(/\n$/, '')}\n--- end of ${path} ---`), `a turn of ${path} lacks its content`);
    for (let m = 2; m < b.messages.length; m += 2) {
      const read = JSON.parse(b.messages[m].content).path;
      const obs = String(b.messages[m + 1].content);
      assert.ok(obs.includes(`--- ${read} ---\n${readFileSync(join(root, read), 'utf8').replace(/\n$/, '')}\n--- end of ${read} ---`), `the turn after reading ${read} lacks its content`);
    }
    const tokens = b.messages.reduce((n: number, msg: { content: string }) => n + tok.encodeOrdinary(msg.content).length + 8, 0);
    assert.ok(tokens + b.max_tokens <= CONTEXT, `a request of ${path} needs ${tokens} + ${b.max_tokens} tokens`);
  }
  assert.ok(turns.some((b) => b.messages.length > 2), 'no turn after a Read');
  baseVersion = s1.version;

  const dir = datasetDir(p, s1.version);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.is(manifest.trajectory.provider, 'openai');
  assert.is(manifest.trajectory.baseURL, server.url);
  assert.is(Object.keys(manifest.trajectory.prompts).length, 5);

  const check = await checkDocuments(dir, ROOTS);
  assert.ok(check.reads >= 4, `only ${check.reads} reads`);
  assert.ok(check.maskedTokens > 0);
  const [row] = await queryShards(`SELECT text FROM read_parquet('${dir}/data/*.parquet') WHERE id = 'calc'`);
  const text = String(row!.text);
  assert.not.ok(text.includes('ghost/missing.js'), 'invented file kept in the plan');
  assert.not.ok(text.includes('Action: Read README.md'), 'a read of a non-dependency was kept');
  // The server's plan leaves out the last file: its purpose comes from the facts.
  assert.match(text, /^3\. src\/index\.js: Exports [^\n]* builds on src\/math\.js and src\/format\.js\.$/m);
  assert.match(text, /^1\. src\/math\.js: Provides part \w+ of the design\.$/m);
  // math.js is written above in this document: a re-read shows the definitions used, as lines.
  assert.match(text, /Action: Read src\/math\.js:1-9\nObservation:\n\/\*\* Adds two numbers[^]*?\n--- end of src\/math\.js:1-9 ---\n/);

  const s2 = ok(await p.build());
  assert.is(s2.llm.requests, 0);
  assert.is(s2.llm.cached, PLANNED);
  assert.is(s2.version, s1.version);
});

test('a prompt edit re-sends only the calls whose rendered request changed', async () => {
  const p = project({ sources: SOURCES, llm: endpoint(server.url), prompts: true });
  const base = ok(await p.build());
  assert.is(base.llm.requests, PLANNED);

  appendFileSync(join(p.promptsDir, 'implement/system.md'), '\nPrefer short thoughts.\n');
  const sub = ok(await p.build());
  assert.is(sub.llm.requests, FILE_CALLS);
  assert.is(sub.llm.plan.requests, 0);
  assert.is(sub.llm.plan.cached, PLAN_CALLS);
  assert.is(sub.stages.parse.computed, 0);
  assert.is(sub.stages.graph.computed, 0);
  assert.is(sub.stages.plan.computed, 0);
  assert.is(sub.stages.implement.computed, FILES);
  assert.is.not(sub.version, base.version);
  // dataset diff names the changed prompt and the documents it changed.
  const diff = runCli(['dataset', 'diff', `traj/${base.version}`, `traj/${sub.version}`, '--json', '--out', join(p.dir, 'datasets')]);
  assert.is(diff.code, 0, diff.stderr);
  const d = JSON.parse(diff.stdout);
  assert.equal(d.settings.map((x: { field: string }) => x.field).filter((f: string) => f.startsWith('trajectory.prompts')), ['trajectory.prompts.implement/system.md']);
  assert.equal(d.documents.changed.map((c: { id: string }) => c.id).sort(), ['calc', 'notes']);

  // The server's plan ignores the system prompt: the plan calls are re-sent, the plans come back
  // the same, and no file call depends on a changed plan.
  appendFileSync(join(p.promptsDir, 'plan/system.md'), '\nBe concrete.\n');
  const main = ok(await p.build());
  assert.is(main.llm.requests, PLAN_CALLS);
  assert.is(main.llm.implement.requests, 0);
  assert.is(main.stages['render-trajectory'].computed, 0);
  assert.is(main.stages.parse.computed, 0);

  // A changed user template changes the plans, so every file call of both repositories re-runs.
  appendFileSync(join(p.promptsDir, 'plan/user.md'), '\nThe team is small.\n');
  const both = ok(await p.build());
  assert.is(both.llm.plan.requests, PLAN_CALLS);
  assert.is(both.llm.implement.requests, FILE_CALLS);
  assert.is(both.stages.graph.computed, 0);
});

test('with 20% of requests failing: same version, no successful call sent twice', async () => {
  assert.ok(baseVersion, 'needs the first test');
  // A shorter deadline here: each 'timeout' fault costs the client one.
  const p = project({ sources: SOURCES, llm: endpoint(server.url, { timeoutMs: 2000 }) });
  server.setFaults({ rate: 0.2, kinds: ['429', '500', 'timeout', 'malformed', 'truncated'], seed: 11 });
  const from = server.log.length;
  let s;
  try {
    s = ok(await p.build());
  } finally {
    server.setFaults(undefined);
  }
  const log = server.log.slice(from);
  assert.ok(log.some((e) => e.fault), 'no fault was injected');
  const ok200 = successes(log);
  assert.is(ok200.length, PLANNED);
  assert.is(new Set(ok200).size, PLANNED, 'a call that succeeded was sent again');
  assert.is(s.llm.requests, log.length);
  assert.is(s.version, baseVersion);
});

test('kill -9 during the implement stage: the next build sends only the calls not finished', async () => {
  const slow = await startLlmServer({ answer: jsonAnswer, delayMs: 150 });
  try {
    const p = project({ sources: SOURCES, llm: endpoint(slow.url, { maxConcurrency: 1 }) });
    const run = spawnRetrace([...p.buildArgs(), '--events']);
    const done = finished(run);
    // An `item` event of the llm stage is emitted once its answer is stored: kill right after one.
    await run.waitForEvents((e) => e.event === 'item' && e.stage === 'llm' && e.cached === false, PLAN_CALLS + 2, 30_000);
    run.child.kill('SIGKILL');
    await done; // every event the build wrote before it died has been read now
    const stored = run.events.filter((e) => e.event === 'item' && e.stage === 'llm' && e.cached === false).length;
    // The request in flight at the kill is still answered by the server (to nobody) and logged.
    const deadline = Date.now() + 5_000;
    while (slow.log.length <= stored && Date.now() < deadline) await sleep(10);
    const before = successes(slow.log).slice(0, stored);
    assert.ok(before.length >= PLAN_CALLS + 2 && before.length < PLANNED, `killed after ${before.length} calls`);

    const from = slow.log.length;
    const s = ok(await p.build());
    const after = successes(slow.log.slice(from));
    assert.is(after.filter((b) => before.includes(b)).length, 0, 'a finished call was sent again');
    assert.is(before.length + after.length, PLANNED);
    assert.is(s.llm.requests, after.length);
    assert.is(s.llm.cached, before.length);
  } finally {
    await slow.close();
  }
});

test('a token budget stops the build cleanly; finished calls stay cached', async () => {
  const p = project({ sources: SOURCES, llm: { ...endpoint(server.url, { maxConcurrency: 1 }), tokenBudget: 700 } });
  const from = server.log.length;
  const stopped = await p.build();
  assert.is.not(stopped.code, 0);
  assert.match(stopped.stderr, /LLM_BUDGET_EXHAUSTED[^\n]*llm.tokenBudget is 700/);
  const sent = successes(server.log.slice(from)).length;
  assert.ok(sent > 0 && sent < PLANNED, `${sent} calls before the budget stopped the build`);

  p.setLlm(endpoint(server.url));
  const s = ok(await p.build());
  assert.ok(s.llm.cached >= sent - 1, `${s.llm.cached} answers reused of ${sent} finished`);
  assert.is(s.llm.cached + s.llm.requests, PLANNED);
});

test.after(async () => {
  await server.close();
  removeProjects();
});
test.run();
