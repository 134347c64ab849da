/**
 * The search with the loopback server as generator and scorer, through the real `retrace`
 * binary on the two small trajectory fixtures (7 code files, so 7 searched steps): requests
 * are exactly K × iterations × steps generations and steps × (1 + K × iterations) scores, every
 * recorded score is the one the server's log-probs give for the target span, every accepted
 * thought beat the one it replaced, a rebuild sends nothing, raising the iterations from 3 to 4
 * sends only the 4th iteration's calls, and a small context truncates the prefix (recorded).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { queryShards } from './helpers/duckdb.ts';
import { scorePrompt, startLlmServer, type LogEntry } from './helpers/llm-server.ts';
import { FIXTURES, ok } from './fixtures/trajectory/harness.ts';
import { searchAnswer } from './fixtures/search/answers.ts';
import { removeSearchProjects, searchProject } from './fixtures/search/harness.ts';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';

const DIRS = { calc: join(FIXTURES, 'calc'), notes: join(FIXTURES, 'notes') };
const STEPS = 7;
/** Turns of the files' loops (one per Read, plus the Write): 15; Think steps of 'all': 7 x 2 + 8 Reads. */
const TURNS = 15;
const ALL_STEPS = 22;
const K = 2;

const server = await startLlmServer({ answer: searchAnswer });
const endpoint = { baseURL: server.url, model: 'test-model', timeoutMs: 5000, maxRetries: 2, maxConcurrency: 4 };
const llm = { provider: 'openai', endpoint };
const search = (iterations: number, extra: Record<string, unknown> = {}) => ({
  enabled: true,
  candidates: K,
  iterations,
  scorer: { provider: 'openai', endpoint: { ...endpoint, model: 'score-model' }, ...extra },
});

const isSearchCall = (e: LogEntry) => e.path === '/v1/chat/completions' && String(e.body.messages?.[0]?.content).includes('Rewrite that thought');
const scoring = (log: LogEntry[]) => log.filter((e) => e.path === '/v1/completions' && e.status === 200);

/** The file a scored prompt ends with, and the server's log-likelihood of it. */
function expectedScore(prompt: string): { file: string; logprob: number } {
  const path = [...prompt.matchAll(/\nAction: Write (\S+)\n/g)].at(-1)![1]!;
  const file = `${prompt.match(/^Repository: (\S+)/)![1]}:${path}`;
  const start = prompt.lastIndexOf(`\nAction: Write ${path}\n`) + `\nAction: Write ${path}\n`.length;
  const { tokens, logprobs } = scorePrompt(prompt);
  let at = 0;
  let logprob = 0;
  tokens.forEach((t, i) => {
    if (at >= start) logprob += logprobs[i]!;
    at += t.length;
  });
  return { file, logprob };
}

test('requests = K × iterations × steps (+1 score per step); accepted thoughts beat what they replaced; rebuild sends 0; 3 -> 4 sends only the new iteration', async () => {
  const p = searchProject(DIRS, search(3), llm);
  const from = server.log.length;
  const s = ok(await p.build());
  const log = server.log.slice(from);
  assert.is(log.filter(isSearchCall).length, K * 3 * STEPS);
  assert.is(s.llm.search.requests, K * 3 * STEPS);
  assert.is(scoring(log).length, STEPS * (1 + K * 3));
  assert.is(s.llm.scorer.requests, STEPS * (1 + K * 3));
  assert.is(s.llm.requests, 2 + TURNS + K * 3 * STEPS + STEPS * (1 + K * 3));

  // Every recorded score is the server's log-likelihood of the target span of a prompt it got.
  const expected = new Map<string, Set<number>>();
  for (const e of scoring(log)) {
    const { file, logprob } = expectedScore(String(e.body.prompt));
    if (!expected.has(file)) expected.set(file, new Set());
    expected.get(file)!.add(+logprob.toFixed(6));
  }
  const records = [...(await p.records('calc')), ...(await p.records('notes'))];
  assert.is(records.length, STEPS);
  let accepted = 0;
  let rejected = 0;
  for (const r of records) {
    const seen = expected.get(r.item);
    assert.ok(seen, `no scoring request for ${r.item}`);
    assert.ok(seen.has(+r.initial.logprob.toFixed(6)), `${r.item}: initial score not the server's`);
    let current = r.initial.logprob;
    for (const it of r.iterations) {
      assert.is(it.candidates.length, K);
      for (const c of it.candidates) assert.ok(seen.has(+c.logprob.toFixed(6)), `${r.item}: candidate score not the server's`);
      if (it.accepted === null) {
        rejected++;
        assert.ok(it.candidates.every((c: any) => c.logprob <= current), `${r.item}: a better candidate was rejected`);
      } else {
        accepted++;
        assert.ok(it.candidates[it.accepted].logprob > current, `${r.item}: accepted a thought that is not better`);
        current = it.candidates[it.accepted].logprob;
      }
      assert.is(it.after.logprob, current);
    }
    assert.is(r.final.logprob, current);
  }
  assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}: the test does not exercise both`);

  const m = p.manifest(s.version);
  assert.is(m.search.steps, STEPS);
  assert.is(m.search.candidatesScored, K * 3 * STEPS);
  assert.is(m.search.accepted, accepted);
  assert.ok(m.search.codePplAfter < m.search.codePplBefore);
  assert.ok(m.search.meanThoughtCharsAfter > m.search.meanThoughtCharsBefore);
  assert.equal(m.search.scorer, { provider: 'openai', model: 'score-model', baseURL: server.url, contextTokens: 8192 });

  // The accepted thought is the document's Think before the Write, followed by the real code.
  const dir = join(p.dir, 'datasets', 'search', s.version);
  const [row] = await queryShards(`SELECT text FROM read_parquet('${dir}/data/*.parquet') WHERE id = 'calc'`);
  for (const r of records.filter((x) => x.doc === 'calc')) {
    const path = r.item.slice('calc:'.length);
    const code = readFileSync(join(DIRS.calc, path), 'utf8');
    assert.ok(String(row!.text).includes(`Think: ${r.final.thought}\nAction: Write ${path}\n${code}`), `${path}: accepted thought not rendered`);
  }

  const again = server.log.length;
  const s2 = ok(await p.build());
  assert.is(server.log.length - again, 0, 'a rebuild sent requests');
  assert.is(s2.llm.requests, 0);
  assert.is(s2.version, s.version);

  p.configure(search(4), llm);
  const before4 = server.log.length;
  const s4 = ok(await p.build());
  const log4 = server.log.slice(before4);
  assert.is(log4.filter(isSearchCall).length, K * STEPS);
  assert.ok(log4.filter(isSearchCall).every((e) => Math.floor(e.body.seed / 1000) === 4), 'a call of iterations 1-3 was re-sent');
  assert.is(scoring(log4).length, K * STEPS);
  assert.is(s4.llm.requests, 2 * K * STEPS);
  assert.is(s4.llm.search.cached, K * 3 * STEPS);
  assert.is(p.manifest(s4.version).search.candidatesScored, K * 4 * STEPS);
});

test('a small scoring context truncates the prefix from the left, and the truncation is recorded', async () => {
  const p = searchProject(DIRS, search(1, { contextTokens: 96 }), llm);
  const from = server.log.length;
  const s = ok(await p.build());
  const tok = await loadLlama3Tokenizer();
  const sent = scoring(server.log.slice(from)).map((e) => String(e.body.prompt));
  assert.is(sent.length, STEPS * (1 + K));
  for (const prompt of sent) {
    assert.ok(tok.encodeOrdinary(prompt).length <= 96 - 1, `a prompt of ${tok.encodeOrdinary(prompt).length} tokens was sent`);
    assert.not.ok(prompt.startsWith('Repository:'), 'the prefix was not cut from the left');
  }
  const m = p.manifest(s.version);
  assert.is(m.search.truncatedSteps, STEPS);
  for (const r of await p.records('notes')) assert.ok(r.truncated.prefixTokens > 0, `${r.item}: truncation not recorded`);
});

test('search.steps all: every Think of the loop is searched, each scored by the code that follows', async () => {
  const p = searchProject(DIRS, { ...search(1), steps: 'all' }, llm);
  const from = server.log.length;
  const s = ok(await p.build());
  const log = server.log.slice(from);
  assert.is(log.filter(isSearchCall).length, K * ALL_STEPS);
  // The initial text of every step of a file is the same (the loop's thoughts in place): scored once per file.
  assert.is(scoring(log).length, ALL_STEPS * K + STEPS);
  const records = [...(await p.records('calc')), ...(await p.records('notes'))];
  assert.is(records.length, ALL_STEPS);
  assert.is(p.manifest(s.version).search.steps, ALL_STEPS);
  // Each searched thought is in the document where the loop's thought was.
  const dir = join(p.dir, 'datasets', 'search', s.version);
  const [row] = await queryShards(`SELECT text FROM read_parquet('${dir}/data/*.parquet') WHERE id = 'calc'`);
  for (const r of records.filter((x) => x.doc === 'calc')) assert.ok(String(row!.text).includes(`Think: ${r.final.thought}\n`), `${r.item}: searched thought not rendered`);
  assert.ok(records.some((r) => /~0$/.test(r.item)) && records.some((r) => /~1$/.test(r.item)));
});

test.after(async () => {
  removeSearchProjects();
  await server.close();
});
test.run();
