/**
 * A loopback OpenAI-compatible server for the whole test suite: real HTTP (node:http on
 * 127.0.0.1, port 0), deterministic answers, deterministic prompt logprobs that tests can
 * predict, and injectable faults so retries, timeouts and rate limits are exercised for real.
 *
 * Everything is a pure function of the request: the chat answer is a stable hash of the
 * messages (plus seed, temperature and choice index) followed by a few words of the last user
 * message; logprobs come from `scorePrompt`, exported so tests can compute expected scores.
 * Faults are decided from the request body and how many times that same body was seen, so a
 * retried request can succeed and every run behaves the same.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = '429' | '500' | '503' | 'timeout' | 'malformed' | 'truncated' | 'empty';

export interface FaultPlan {
  /** Fraction of requests that fault (1 = every one). */
  rate?: number;
  /** Which faults to draw from (default all but 'timeout', which costs the client a deadline). */
  kinds?: FaultKind[];
  seed?: number;
  /** Retry-After in seconds on 429 and 503 (default 0). */
  retryAfterSeconds?: number;
  /** Also send retry-after-ms (OpenAI's precise header) with this value. */
  retryAfterMs?: number;
}

export interface LogEntry {
  path: string;
  body: any;
  /** 0 when the server never answered (timeout fault). */
  status: number;
  fault?: FaultKind;
}

export interface ServerOptions {
  faults?: FaultPlan;
  /** Overrides the chat answer, e.g. to produce JSON for prompts that ask for it. */
  answer?: (req: any, index: number) => string;
  /** Overrides the finish_reason of a chat answer (default 'stop'), e.g. 'length' for a cut answer. */
  finishReason?: (req: any, index: number) => string;
  /** Wait this long before answering (lets tests observe concurrency). */
  delayMs?: number;
  /** Require `Authorization: Bearer <apiKey>`; others get 401. */
  apiKey?: string;
  /** 'llamacpp' returns logprobs for the generated token only, as llama.cpp's server does. */
  logprobs?: 'vllm' | 'llamacpp';
  /** Options for scorePrompt (default: repeats boosted). */
  repeatBoost?: boolean;
}

export interface LlmServer {
  /** Base URL ending in /v1. */
  url: string;
  log: LogEntry[];
  setFaults(f: FaultPlan | undefined): void;
  /** Requests being handled now, and the most seen at once. */
  concurrency(): { current: number; max: number };
  close(): Promise<void>;
}

/** A stable 32-bit hash (the first bytes of SHA-1): deterministic across runs and machines. */
export function stableHash(text: string): number {
  return createHash('sha1').update(text).digest().readUInt32BE(0);
}

/** The server's tokenizer: runs of whitespace, runs of word characters, single other characters. */
export function tokenize(text: string): string[] {
  return text.match(/\s+|\w+|[^\w\s]/gu) ?? [];
}

/** The logprob of `token` after `prev`: a pseudo-random value in [-4.96, -1]. */
export function pairLogprob(prev: string, token: string): number {
  return -(1 + (stableHash(`${prev}\u0000${token}`) % 100) / 25);
}

/** A word that already occurred earlier in the prompt is likely (copying, as real models do). */
export const REPEAT_LOGPROB = -0.1;

/**
 * The logprobs the server returns for a prompt: null for the first token, then pairLogprob, or
 * REPEAT_LOGPROB for a word token seen before when repeatBoost is on (the default). So a thought
 * that names the identifiers of the code that follows raises that code's likelihood.
 */
export function scorePrompt(prompt: string, opts: { repeatBoost?: boolean } = {}): { tokens: string[]; logprobs: Array<number | null> } {
  const repeatBoost = opts.repeatBoost ?? true;
  const tokens = tokenize(prompt);
  const seen = new Set<string>();
  const logprobs = tokens.map((tok, i) => {
    const isWord = /^\w+$/u.test(tok);
    const lp = i === 0 ? null : repeatBoost && isWord && seen.has(tok) ? REPEAT_LOGPROB : pairLogprob(tokens[i - 1]!, tok);
    if (isWord) seen.add(tok);
    return lp;
  });
  return { tokens, logprobs };
}

/** The default chat answer for one choice. */
export function defaultAnswer(req: any, index: number): string {
  const messages: Array<{ role: string; content: string }> = Array.isArray(req.messages) ? req.messages : [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const words = (String(lastUser).match(/\w+/g) ?? []).slice(0, 6).join(' ');
  const h = stableHash(JSON.stringify([messages, req.seed ?? null, req.temperature ?? null, index]));
  return `answer ${h.toString(16).padStart(8, '0')}: ${words}`;
}

function wordCount(text: string): number {
  return (text.match(/\S+/g) ?? []).length;
}

const ALL_BUT_TIMEOUT: FaultKind[] = ['429', '500', '503', 'malformed', 'truncated', 'empty'];

export async function startLlmServer(opts: ServerOptions = {}): Promise<LlmServer> {
  let faults = opts.faults;
  const log: LogEntry[] = [];
  const seenBodies = new Map<string, number>();
  let current = 0;
  let max = 0;

  function drawFault(path: string, raw: string): FaultKind | undefined {
    const key = `${path}\u0000${raw}`;
    const attempt = seenBodies.get(key) ?? 0;
    seenBodies.set(key, attempt + 1);
    if (!faults || !faults.rate) return undefined;
    const h = stableHash(`${faults.seed ?? 0}\u0000${attempt}\u0000${key}`);
    if (h / 2 ** 32 >= faults.rate) return undefined;
    const kinds = faults.kinds?.length ? faults.kinds : ALL_BUT_TIMEOUT;
    return kinds[stableHash(`kind\u0000${h}`) % kinds.length];
  }

  function chatBody(req: any): object {
    const n = Number.isInteger(req.n) && req.n > 0 ? req.n : 1;
    const contents = Array.from({ length: n }, (_, i) => (opts.answer ?? defaultAnswer)(req, i));
    const promptTokens = (req.messages ?? []).reduce((s: number, m: any) => s + wordCount(String(m.content ?? '')), 0);
    const completionTokens = contents.reduce((s, c) => s + wordCount(c), 0);
    return {
      id: `chatcmpl-${stableHash(JSON.stringify(req)).toString(16)}`,
      object: 'chat.completion',
      created: 0,
      model: req.model,
      choices: contents.map((content, index) => ({ index, message: { role: 'assistant', content }, finish_reason: opts.finishReason?.(req, index) ?? 'stop' })),
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  }

  function completionBody(req: any): object {
    const prompt = String(req.prompt ?? '');
    const { tokens, logprobs } = scorePrompt(prompt, { repeatBoost: opts.repeatBoost });
    const generated = [' the', ' and', '\n', ';'][stableHash(prompt) % 4]!;
    const genLogprob = -0.5;
    // Offsets count code points, as vLLM's (Python) do.
    const offsets: number[] = [];
    let at = 0;
    for (const t of tokens) {
      offsets.push(at);
      at += [...t].length;
    }
    const echo = req.echo === true && opts.logprobs !== 'llamacpp';
    const lp = {
      tokens: echo ? [...tokens, generated] : [generated],
      token_logprobs: echo ? [...logprobs, genLogprob] : [genLogprob],
      text_offset: echo ? [...offsets, at] : [at],
      top_logprobs: echo
        ? [...tokens.map((t, i) => (i === 0 ? null : { [t]: logprobs[i] })), { [generated]: genLogprob }]
        : [{ [generated]: genLogprob }],
    };
    return {
      id: `cmpl-${stableHash(prompt).toString(16)}`,
      object: 'text_completion',
      created: 0,
      model: req.model,
      choices: [{ index: 0, text: req.echo ? prompt + generated : generated, logprobs: req.logprobs ? lp : null, finish_reason: 'length' }],
      usage: { prompt_tokens: tokens.length, completion_tokens: 1, total_tokens: tokens.length + 1 },
    };
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function sendFault(res: ServerResponse, fault: FaultKind, good: object): number {
    const plan = faults ?? {};
    const retryHeaders: Record<string, string> = { 'retry-after': String(plan.retryAfterSeconds ?? 0) };
    if (plan.retryAfterMs !== undefined) retryHeaders['retry-after-ms'] = String(plan.retryAfterMs);
    switch (fault) {
      case '429':
        sendJson(res, 429, { error: { message: 'Rate limit reached', type: 'rate_limit_error' } }, retryHeaders);
        return 429;
      case '503':
        sendJson(res, 503, { error: { message: 'Overloaded', type: 'server_error' } }, retryHeaders);
        return 503;
      case '500':
        sendJson(res, 500, { error: { message: 'Internal error', type: 'server_error' } });
        return 500;
      case 'timeout':
        return 0; // never answer; the client's deadline or close() ends it
      case 'malformed': {
        const text = '{"id": "broken", "choices": [{"index": 0, "message": {"content": "unterminated';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return 200;
      }
      case 'truncated': {
        const text = JSON.stringify(good);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, text.length >> 1), () => res.destroy());
        return 200;
      }
      case 'empty':
        sendJson(res, 200, { ...good, choices: [] });
        return 200;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '').split('?')[0]!;
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      log.push({ path, body: raw, status: 400 });
      return sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      log.push({ path, body, status: 401 });
      return sendJson(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    }
    const build = path === '/v1/chat/completions' ? chatBody : path === '/v1/completions' ? completionBody : undefined;
    if (!build) {
      log.push({ path, body, status: 404 });
      return sendJson(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } });
    }
    const fault = drawFault(path, raw);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const good = build(body);
    if (fault) {
      log.push({ path, body, status: sendFault(res, fault, good), fault });
      return;
    }
    log.push({ path, body, status: 200 });
    sendJson(res, 200, good);
  }

  const server = createServer((req, res) => {
    current++;
    max = Math.max(max, current);
    res.on('close', () => current--);
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    log,
    setFaults: (f) => {
      faults = f;
    },
    concurrency: () => ({ current, max }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Requests held open by the timeout fault (and idle keep-alive sockets) would block close().
        server.closeAllConnections();
      }),
  };
}
