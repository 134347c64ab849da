/**
 * Flat memory (issue 17): the LLM session keeps per-call state only while a call is being
 * answered. It used to remember the role of every call of the build (one map entry per LLM item,
 * ~70k at 437 packages); the entry now goes when the call ends, also when two calls of one item
 * overlap or a call fails.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LlmSession } from '../stages/llm/session.ts';
import type { Provider } from '../stages/llm/providers.ts';

function fakeSession(): { session: LlmSession; inFlight: () => Map<string, unknown> } {
  const run = {
    loaded: { config: { name: 't', sources: [] }, dir: process.cwd() },
    reporter: { emit() {}, done() {} },
    exec: { tally() {} },
    signal: new AbortController().signal,
    abort() {},
  };
  const session = new LlmSession(run as never);
  let fail = false;
  const provider: Provider = {
    id: 'offline',
    async complete(_req, _context, { item }) {
      await new Promise((r) => setImmediate(r));
      if (fail || item.startsWith('fail')) throw new Error('no answer');
      return { content: `answer for ${item}`, finishReason: 'stop', model: 'fake', promptTokens: 0, completionTokens: 0 };
    },
    usage: () => ({ requests: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 }),
  } as Provider;
  (session as unknown as { provider: Provider }).provider = provider;
  return { session, inFlight: () => (session as unknown as { roleOfItem: Map<string, unknown> }).roleOfItem };
}

const req = { messages: [{ role: 'user', content: 'x' }] } as never;

test('no per-call state outlives its call: 2,000 calls (overlapping ones of one item, failures) leave none', async () => {
  const { session, inFlight } = fakeSession();
  const signal = new AbortController().signal;
  const calls: Array<Promise<unknown>> = [];
  for (let i = 0; i < 2000; i++) {
    const item = i % 10 === 0 ? 'shared item' : i % 7 === 0 ? `fail ${i}` : `repo:file${i}.js turn 0`;
    calls.push(session.complete(i % 2 ? 'implement' : 'plan', item, req, undefined, signal).catch(() => undefined));
  }
  // While they run, each is known (the openai provider counts its requests by it).
  assert.ok(inFlight().size > 0 && inFlight().has('shared item'));
  await Promise.all(calls);
  assert.is(inFlight().size, 0, 'every finished call forgotten');
});

test.run();
