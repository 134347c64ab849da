/** The loopback server itself, over plain fetch: what other areas' tests rely on. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultAnswer, startLlmServer } from './helpers/llm-server.ts';

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

test('chat answers are a function of the request: messages, seed and choice index', async () => {
  const server = await startLlmServer();
  try {
    const url = `${server.url}/chat/completions`;
    const req = { model: 'm', messages: [{ role: 'user', content: 'Plan the repository layout' }] };
    const a = await post(url, req);
    const again = await post(url, req);
    const seeded = await post(url, { ...req, seed: 1 });
    assert.is(a.status, 200);
    assert.equal(a.json.choices, again.json.choices);
    assert.is(a.json.choices[0].message.content, defaultAnswer(req, 0));
    assert.is.not(seeded.json.choices[0].message.content, a.json.choices[0].message.content);
    assert.equal(a.json.usage, { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
  } finally {
    await server.close();
  }
});

test('the answer override produces content for JSON prompts', async () => {
  const server = await startLlmServer({ answer: (req, i) => JSON.stringify({ echo: req.messages.at(-1).content.length, i }) });
  try {
    const r = await post(`${server.url}/chat/completions`, { model: 'm', n: 2, messages: [{ role: 'user', content: 'Respond with JSON' }] });
    assert.equal(r.json.choices.map((c: any) => JSON.parse(c.message.content)), [{ echo: 17, i: 0 }, { echo: 17, i: 1 }]);
  } finally {
    await server.close();
  }
});

test('faults are deterministic per body and attempt, and logged', async () => {
  const run = async () => {
    const server = await startLlmServer({ faults: { rate: 0.5, seed: 9, kinds: ['500', '429'] } });
    try {
      for (let i = 0; i < 10; i++) await post(`${server.url}/chat/completions`, { model: 'm', messages: [{ role: 'user', content: `q${i % 3}` }] });
      return server.log.map((l) => `${l.status}:${l.fault ?? ''}`);
    } finally {
      await server.close();
    }
  };
  const first = await run();
  assert.equal(await run(), first);
  assert.ok(first.some((s) => s.startsWith('200')) && first.some((s) => !s.startsWith('200')), first.join(' '));
});

test('close() returns while a timeout fault holds a request open', async () => {
  const server = await startLlmServer({ faults: { rate: 1, kinds: ['timeout'] } });
  const pending = fetch(`${server.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) }).catch((e) => e);
  while (server.log.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(server.concurrency(), { current: 1, max: 1 });
  const t0 = Date.now();
  await server.close();
  assert.ok(Date.now() - t0 < 500);
  assert.instance(await pending, Error);
});

test('unknown routes get 404', async () => {
  const server = await startLlmServer();
  try {
    assert.is((await post(`${server.url}/embeddings`, {})).status, 404);
  } finally {
    await server.close();
  }
});

test.run();
