/** LlmClient.chat through the real openai SDK against the loopback server, faults included. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LlmClient, type EndpointConfig, type LlmEvent } from '../src/llm/client.ts';
import { RetraceError } from '../src/errors.ts';
import { defaultAnswer, startLlmServer, type FaultKind, type LlmServer } from './helpers/llm-server.ts';

/** Small backoff and deadline so faults cost milliseconds. */
function fastConfig(server: LlmServer, over: Partial<EndpointConfig> = {}): EndpointConfig {
  return { baseURL: server.url, model: 'test-model', timeoutMs: 300, backoffBaseMs: 5, backoffCapMs: 20, ...over };
}

const ask = (text: string) => ({ messages: [{ role: 'user' as const, content: text }] });

async function rejection(p: Promise<unknown>): Promise<RetraceError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, RetraceError);
    return err as RetraceError;
  }
  throw new Error('expected a rejection');
}

const chat = suite('llm chat');

chat('answers through the openai client, deterministically, with usage', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(fastConfig(server));
    const req = { messages: [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Explain the parser module please' }], temperature: 0, max_tokens: 50 };
    const a = await client.chat(req);
    assert.is(a.content, defaultAnswer({ ...req, model: 'test-model' }, 0));
    assert.match(a.content, /Explain the parser module please/);
    assert.equal(a.choices, [a.content]);
    assert.is(a.finishReason, 'stop');
    assert.is(a.model, 'test-model');
    assert.is(a.promptTokens, 8);
    assert.is(a.completionTokens, a.content.split(' ').length);
    const b = await client.chat(ask('something else entirely'));
    assert.is.not(b.content, a.content);
    assert.is(server.log[0]!.body.max_tokens, 50);
    const s = client.stats();
    assert.equal([s.requests, s.succeeded, s.retries, s.failed], [2, 2, 0, 0]);
    assert.is(s.promptTokens, a.promptTokens + b.promptTokens);
  } finally {
    await server.close();
  }
});

chat('n choices come back in order and differ', async () => {
  const server = await startLlmServer();
  try {
    const a = await new LlmClient(fastConfig(server)).chat({ ...ask('two thoughts'), n: 3, seed: 7 });
    assert.is(a.choices.length, 3);
    assert.is(new Set(a.choices).size, 3);
    assert.is(a.content, a.choices[0]);
  } finally {
    await server.close();
  }
});

const kinds: FaultKind[] = ['429', '500', '503', 'malformed', 'truncated', 'empty', 'timeout'];
for (const kind of kinds) {
  chat(`fault ${kind} is retried, then succeeds`, async () => {
    const server = await startLlmServer({ faults: { rate: 1, kinds: [kind] } });
    try {
      const events: LlmEvent[] = [];
      const client = new LlmClient(fastConfig(server), {
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'retry') server.setFaults(undefined);
        },
      });
      const a = await client.chat(ask(`fault ${kind}`), { item: 'repo/a.js' });
      assert.match(a.content, /fault/);
      assert.equal(server.log.map((l) => l.fault), [kind, undefined]);
      assert.equal(events.map((e) => e.type), ['request', 'retry', 'request', 'success']);
      const retry = events[1] as Extract<LlmEvent, { type: 'retry' }>;
      assert.is(retry.item, 'repo/a.js');
      const expected = { '429': 'rate_limit', '500': 'server_error', '503': 'server_error', malformed: 'malformed', truncated: 'connection', empty: 'empty', timeout: 'timeout' }[kind];
      assert.is(retry.reason, expected);
      assert.is(client.stats().failuresByKind[retry.reason], 1);
    } finally {
      await server.close();
    }
  });
}

chat('20% faults over 50 requests: all succeed, the log shows the retries', async () => {
  const server = await startLlmServer({ faults: { rate: 0.2, seed: 3, kinds: ['429', '500', 'malformed', 'truncated', 'empty', 'timeout'] } });
  try {
    const client = new LlmClient(fastConfig(server, { timeoutMs: 250, initialConcurrency: 8 }));
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => client.chat(ask(`request number ${i}`))));
    answers.forEach((a, i) => assert.match(a.content, new RegExp(`request number ${i}$`)));
    const faulted = server.log.filter((l) => l.fault).length;
    assert.ok(faulted >= 5, `only ${faulted} faults`);
    // Every injected fault cost one retry; on a loaded machine a request the server was merely
    // slow to answer (past the 250 ms timeout) is retried too, so retries can exceed the faults.
    const s = client.stats();
    assert.equal([s.requests, s.succeeded, s.failed], [server.log.length, 50, 0]);
    assert.is(s.retries, server.log.length - 50, 'each request past the first of a call is a retry');
    assert.ok(s.retries >= faulted, `${s.retries} retries for ${faulted} faults`);
    const slow = s.retries - faulted;
    assert.ok(slow === 0 || (s.failuresByKind.timeout ?? 0) >= slow, `retries beyond the faults are timeouts: ${JSON.stringify(s.failuresByKind)}`);
  } finally {
    await server.close();
  }
});

chat('401 -> LLM_AUTH at once, naming the env var', async () => {
  const server = await startLlmServer({ apiKey: 'right-key' });
  process.env.RETRACE_TEST_LLM_KEY = 'wrong-key';
  try {
    const client = new LlmClient(fastConfig(server, { apiKeyEnv: 'RETRACE_TEST_LLM_KEY' }));
    const err = await rejection(client.chat(ask('hello'), { item: 'repo/x.js' }));
    assert.is(err.code, 'LLM_AUTH');
    assert.is(err.item, 'repo/x.js');
    assert.match(err.hint!, /RETRACE_TEST_LLM_KEY/);
    assert.is(server.log.length, 1);
    process.env.RETRACE_TEST_LLM_KEY = 'right-key';
    const ok = await new LlmClient(fastConfig(server, { apiKeyEnv: 'RETRACE_TEST_LLM_KEY' })).chat(ask('hello'));
    assert.match(ok.content, /hello/);
  } finally {
    delete process.env.RETRACE_TEST_LLM_KEY;
    await server.close();
  }
});

chat('an empty key variable -> LLM_AUTH before any request; constructing alone does not throw', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(fastConfig(server, { apiKeyEnv: 'RETRACE_TEST_LLM_MISSING' }));
    const err = await rejection(client.chat(ask('hello')));
    assert.is(err.code, 'LLM_AUTH');
    assert.match(err.hint!, /RETRACE_TEST_LLM_MISSING/);
    assert.is(server.log.length, 0);
  } finally {
    await server.close();
  }
});

chat('404 (wrong path) is not retried', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(fastConfig(server, { baseURL: server.url.replace(/\/v1$/, '/nope') }));
    const err = await rejection(client.chat(ask('hello')));
    assert.is(err.code, 'LLM_REQUEST_FAILED');
    assert.match(err.hint!, /test-model/);
    assert.is(server.log.length, 1);
  } finally {
    await server.close();
  }
});

chat('exhausted retries -> LLM_REQUEST_FAILED naming the item', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['500'] } });
  try {
    const events: LlmEvent[] = [];
    const client = new LlmClient(fastConfig(server, { maxRetries: 2 }), { onEvent: (e) => events.push(e) });
    const err = await rejection(client.chat(ask('doomed'), { item: 'octo/repo/src/a.js' }));
    assert.is(err.code, 'LLM_REQUEST_FAILED');
    assert.is(err.item, 'octo/repo/src/a.js');
    assert.match(err.describe(), /octo\/repo\/src\/a\.js.*after 3 attempts.*HTTP 500/);
    assert.is(server.log.length, 3);
    assert.is(events.at(-1)!.type, 'failure');
    const s = client.stats();
    assert.equal([s.requests, s.retries, s.failed, s.failuresByKind.server_error], [3, 2, 1, 3]);
  } finally {
    await server.close();
  }
});

chat('a rejected answer is retried; the next usable one is returned', async () => {
  let calls = 0;
  const server = await startLlmServer({ answer: () => (++calls === 1 ? 'Sure! Here is JSON:' : '{"files": ["a.js"]}') });
  try {
    const client = new LlmClient(fastConfig(server));
    // A validator may also throw: JSON.parse on the first answer does.
    const validate = (a: { content: string }) => void JSON.parse(a.content);
    const a = await client.chat(ask('Respond with JSON'), { validate });
    assert.equal(JSON.parse(a.content), { files: ['a.js'] });
    assert.is(server.log.length, 2);
    assert.is(client.stats().failuresByKind.rejected, 1);
  } finally {
    await server.close();
  }
});

chat('answers rejected every time -> LLM_BAD_ANSWER; their tokens are still counted', async () => {
  const server = await startLlmServer();
  try {
    const client = new LlmClient(fastConfig(server, { maxRetries: 3 }));
    const err = await rejection(client.chat(ask('Respond with JSON'), { validate: () => 'not JSON', item: 'r/f.js' }));
    assert.is(err.code, 'LLM_BAD_ANSWER');
    assert.is(err.item, 'r/f.js');
    assert.match(err.message, /rejected: not JSON/);
    assert.is(server.log.length, 4);
    assert.is(client.stats().promptTokens, 4 * 3);
  } finally {
    await server.close();
  }
});

chat('Retry-After (seconds) is honoured', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['429'], retryAfterSeconds: 1 } });
  try {
    const delays: number[] = [];
    const client = new LlmClient(fastConfig(server), {
      onEvent: (e) => {
        if (e.type !== 'retry') return;
        delays.push(e.delayMs);
        server.setFaults(undefined);
      },
    });
    const t0 = Date.now();
    await client.chat(ask('wait for it'));
    const elapsed = Date.now() - t0;
    assert.equal(delays, [1000]);
    assert.ok(elapsed >= 990, `elapsed ${elapsed} ms`);
  } finally {
    await server.close();
  }
});

chat('retry-after-ms wins over Retry-After, on a 503 too', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['503'], retryAfterSeconds: 1, retryAfterMs: 150 } });
  try {
    const client = new LlmClient(fastConfig(server), { onEvent: (e) => e.type === 'retry' && server.setFaults(undefined) });
    const t0 = Date.now();
    await client.chat(ask('wait a little'));
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 145 && elapsed < 900, `elapsed ${elapsed} ms`);
  } finally {
    await server.close();
  }
});

chat('AIMD: a 429 halves the concurrency, successes grow it back', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['429'] } });
  try {
    const client = new LlmClient(fastConfig(server, { initialConcurrency: 8, maxConcurrency: 8 }), {
      onEvent: (e) => e.type === 'retry' && server.setFaults(undefined),
    });
    await client.chat(ask('first'));
    assert.is(client.stats().concurrency, 4);
    for (let i = 0; i < 4 + 5 + 6 + 7; i++) await client.chat(ask(`grow ${i}`));
    assert.is(client.stats().concurrency, 8);
  } finally {
    await server.close();
  }
});

chat('concurrency never exceeds the limit (the server counts requests in flight)', async () => {
  const server = await startLlmServer({ delayMs: 15 });
  try {
    const client = new LlmClient(fastConfig(server, { initialConcurrency: 2, maxConcurrency: 4 }));
    let peak = 0;
    const calls = Array.from({ length: 40 }, async (_, i) => {
      const a = await client.chat(ask(`parallel ${i}`));
      peak = Math.max(peak, client.stats().inFlight);
      return a;
    });
    await Promise.all(calls);
    const { max } = server.concurrency();
    assert.ok(max <= 4, `server saw ${max} at once`);
    assert.is(max, 4, 'the limit grew to its ceiling and was used');
    assert.ok(peak <= 4);
    assert.is(client.stats().inFlight, 0);
  } finally {
    await server.close();
  }
});

chat('the caller can abort a call in flight', async () => {
  const server = await startLlmServer({ delayMs: 500 });
  try {
    const client = new LlmClient(fastConfig(server, { timeoutMs: 5000 }));
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('user cancelled')), 30);
    const t0 = Date.now();
    try {
      await client.chat(ask('slow'), { signal: ctl.signal });
      assert.unreachable('should abort');
    } catch (err) {
      assert.is((err as Error).message, 'user cancelled');
    }
    assert.ok(Date.now() - t0 < 400);
    assert.is(client.stats().inFlight, 0);
    assert.is(client.stats().retries, 0);
  } finally {
    await server.close();
  }
});

chat.run();
