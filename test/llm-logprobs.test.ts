/** LlmClient.promptLogprobs (echo scoring) against the loopback server in vLLM and llama.cpp modes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LlmClient } from '../src/llm/client.ts';
import { RetraceError } from '../src/errors.ts';
import { REPEAT_LOGPROB, scorePrompt, startLlmServer, tokenize, type LlmServer } from './helpers/llm-server.ts';

const config = (server: LlmServer) => ({ baseURL: server.url, model: 'scorer', timeoutMs: 300, backoffBaseMs: 5, backoffCapMs: 20 });

const CODE = 'export function parseConfig(text) {\n  return JSON.parse(text);\n}\n';

test('one logprob per prompt token, offsets that line up, the generated token dropped', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(config(server));
    const r = await client.promptLogprobs({ prompt: CODE });
    const expected = scorePrompt(CODE);
    assert.equal(r.tokens, expected.tokens);
    assert.equal(r.tokenLogprobs, expected.logprobs);
    assert.is(r.promptTokens, tokenize(CODE).length);
    assert.is(r.tokenLogprobs[0], null);
    assert.ok(r.tokenLogprobs.slice(1).every((x) => typeof x === 'number'));
    r.tokens.forEach((t, i) => assert.is(CODE.slice(r.textOffset[i], r.textOffset[i]! + t.length), t));
    assert.is(r.tokens.join(''), CODE);
    const sent = server.log[0]!.body;
    assert.equal([sent.echo, sent.logprobs, sent.max_tokens, sent.model], [true, 1, 1, 'scorer']);
    assert.is(client.stats().completionTokens, 1);
  } finally {
    await server.close();
  }
});

test('offsets are JS string indices even after astral characters (servers count code points)', async () => {
  const server = await startLlmServer();
  try {
    const prompt = "// 🚀 launch 𝒳\nconst rocket = '🚀';\nrocket";
    const r = await new LlmClient(config(server)).promptLogprobs({ prompt });
    r.tokens.forEach((t, i) => assert.is(prompt.slice(r.textOffset[i], r.textOffset[i]! + t.length), t, `token ${i}`));
    assert.is(r.textOffset.at(-1), prompt.length - 'rocket'.length);
  } finally {
    await server.close();
  }
});

test('a thought naming the identifiers of the code raises its likelihood (the CoT-search signal)', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(config(server));
    const codeScore = async (thought: string) => {
      const prompt = thought + '\n' + CODE;
      const r = await client.promptLogprobs({ prompt });
      const start = prompt.length - CODE.length;
      return r.tokenLogprobs.reduce<number>((s, lp, i) => (r.textOffset[i]! >= start ? s + (lp ?? 0) : s), 0);
    };
    const vague = await codeScore('Next I will write a small helper.');
    const specific = await codeScore('Export parseConfig, which takes text and returns JSON.parse of it.');
    assert.ok(specific > vague, `${specific} <= ${vague}`);
    assert.is(scorePrompt('a b a').logprobs[4], REPEAT_LOGPROB);
  } finally {
    await server.close();
  }
});

test('llama.cpp mode (generated-token logprobs only) -> SCORER_NO_PROMPT_LOGPROBS, not retried', async () => {
  const server = await startLlmServer({ logprobs: 'llamacpp' });
  try {
    const client = new LlmClient(config(server));
    try {
      await client.promptLogprobs({ prompt: CODE }, { item: 'r/src/config.js' });
      assert.unreachable('should throw');
    } catch (err) {
      assert.instance(err, RetraceError);
      const e = err as RetraceError;
      assert.is(e.code, 'SCORER_NO_PROMPT_LOGPROBS');
      assert.is(e.item, 'r/src/config.js');
      assert.match(e.hint!, /vLLM/);
    }
    assert.is(server.log.length, 1);
    assert.is(client.stats().failed, 1);
  } finally {
    await server.close();
  }
});

test('scoring faults are retried like chat faults', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['truncated'] } });
  try {
    const client = new LlmClient(config(server), { onEvent: (e) => e.type === 'retry' && server.setFaults(undefined) });
    const r = await client.promptLogprobs({ prompt: CODE });
    assert.is(r.promptTokens, tokenize(CODE).length);
    assert.equal(server.log.map((l) => l.fault), ['truncated', undefined]);
  } finally {
    await server.close();
  }
});

test('an empty prompt scores to nothing without a request', async () => {
  const server = await startLlmServer();
  try {
    const r = await new LlmClient(config(server)).promptLogprobs({ prompt: '' });
    assert.equal(r, { tokens: [], tokenLogprobs: [], textOffset: [], promptTokens: 0 });
    assert.is(server.log.length, 0);
  } finally {
    await server.close();
  }
});

test.run();
