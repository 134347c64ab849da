/** The limiter, backoff and failure classification, without network. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { AimdLimiter, type Permit } from '../src/llm/aimd.ts';
import { BadAnswer, backoffMs, classify, retryAfterMs } from '../src/llm/failures.ts';

/** Resolves to the permit if granted within a tick, else undefined. */
async function granted(p: Promise<Permit>): Promise<Permit | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(r, 5))]);
}

test('never grants more permits than the limit', async () => {
  const lim = new AimdLimiter({ initial: 2, max: 2 });
  const a = await lim.acquire();
  await lim.acquire();
  const third = lim.acquire();
  assert.is(await granted(third), undefined);
  assert.is(lim.active, 2);
  a.release('failure');
  assert.ok(await granted(third));
  assert.is(lim.active, 2);
});

test('grows by one after every `limit` successes, up to max', async () => {
  const lim = new AimdLimiter({ initial: 2, max: 4 });
  const succeed = async (n: number) => {
    for (let i = 0; i < n; i++) (await lim.acquire()).release('success');
  };
  await succeed(1);
  assert.is(lim.limit, 2);
  await succeed(1);
  assert.is(lim.limit, 3);
  await succeed(2);
  assert.is(lim.limit, 3);
  await succeed(1);
  assert.is(lim.limit, 4);
  await succeed(50);
  assert.is(lim.limit, 4);
});

test('halves on a 429, once per window, never below 1, and grows back', async () => {
  const lim = new AimdLimiter({ initial: 8, max: 8 });
  const burst = await Promise.all(Array.from({ length: 8 }, () => lim.acquire()));
  burst[0]!.release('rate-limited');
  assert.is(lim.limit, 4);
  // Granted before the decrease: the same congestion event, no second halving.
  burst[1]!.release('rate-limited');
  assert.is(lim.limit, 4);
  for (const p of burst.slice(2)) p.release('failure');
  for (const expected of [2, 1, 1]) {
    (await lim.acquire()).release('rate-limited');
    assert.is(lim.limit, expected);
  }
  for (let i = 0; i < 1 + 2 + 3 + 4 + 5 + 6 + 7; i++) (await lim.acquire()).release('success');
  assert.is(lim.limit, 8);
});

test('a 429 with Retry-After pauses new grants until it elapses', async () => {
  const lim = new AimdLimiter({ initial: 4, max: 4 });
  (await lim.acquire()).release('rate-limited', 120);
  assert.ok(lim.pausedFor() > 100);
  const t0 = Date.now();
  const p = await lim.acquire();
  const waited = Date.now() - t0;
  assert.ok(waited >= 110, `waited ${waited} ms`);
  p.release('success');
  assert.is(lim.pausedFor(), 0);
});

test('an aborted wait rejects with the reason and frees its place in the queue', async () => {
  const lim = new AimdLimiter({ initial: 1, max: 1 });
  const holder = await lim.acquire();
  const ctl = new AbortController();
  const aborted = lim.acquire(ctl.signal);
  const next = lim.acquire();
  ctl.abort(new Error('stop'));
  try {
    await aborted;
    assert.unreachable('should reject');
  } catch (err) {
    assert.is((err as Error).message, 'stop');
  }
  holder.release('success');
  assert.ok(await granted(next));
  assert.is(lim.active, 1);
});

test('releasing twice is ignored', async () => {
  const lim = new AimdLimiter({ initial: 2, max: 2 });
  const p = await lim.acquire();
  p.release('failure');
  p.release('failure');
  assert.is(lim.active, 0);
});

test('full-jitter backoff stays within [0, min(cap, base * 2^attempt))', () => {
  assert.is(backoffMs(0, 500, 30_000, () => 0), 0);
  assert.is(backoffMs(0, 500, 30_000, () => 0.999999), 499);
  assert.is(backoffMs(3, 500, 30_000, () => 0.5), 2000);
  assert.is(backoffMs(20, 500, 30_000, () => 0.5), 15_000);
  for (let i = 0; i < 100; i++) assert.ok(backoffMs(4, 10, 1000) < 160);
});

test('Retry-After: retry-after-ms wins, then seconds, then an HTTP date; clamped', () => {
  assert.is(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' })), 250);
  assert.is(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
  const date = retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() + 5000).toUTCString() }))!;
  assert.ok(date > 3000 && date <= 5000, String(date));
  assert.is(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
  assert.is(retryAfterMs(new Headers({ 'retry-after': '86400' })), 300_000);
  assert.is(retryAfterMs(new Headers()), undefined);
});

test('classify: what is retried and what is not', () => {
  const api = (status: number, headers: Record<string, string> = {}) =>
    classify(APIError.generate(status, { message: 'x' }, undefined, new Headers(headers)));
  assert.equal(api(429, { 'retry-after': '1' }), { kind: 'rate_limit', retryable: true, status: 429, message: api(429).message, retryAfterMs: 1000 });
  assert.is(api(503, { 'retry-after-ms': '40' }).retryAfterMs, 40);
  for (const s of [408, 409, 500, 502, 503, 504]) assert.ok(api(s).retryable, String(s));
  for (const s of [400, 404, 422]) assert.equal([api(s).kind, api(s).retryable], ['bad_request', false]);
  for (const s of [401, 403]) assert.equal([api(s).kind, api(s).retryable], ['auth', false]);
  assert.is(classify(new APIConnectionTimeoutError()).kind, 'timeout');
  assert.is(classify(new APIConnectionError({ message: 'refused' })).kind, 'connection');
  assert.is(classify(new SyntaxError('Unexpected end of JSON input')).kind, 'malformed');
  assert.is(classify(new TypeError('terminated')).kind, 'connection');
  assert.is(classify(new BadAnswer('rejected', 'not JSON')).kind, 'rejected');
});

test.run();
