/**
 * The network layer the engine calls on a cache miss: chat completions and prompt scoring against
 * any OpenAI-compatible endpoint, through the `openai` SDK with its own retries turned off.
 * Every attempt takes a slot from the AIMD limiter, gets a deadline covering the whole body (the
 * SDK's timeout stops at the headers), and is classified; transient failures are retried with
 * full-jitter backoff or the server's Retry-After.
 */
import OpenAI, { APIConnectionTimeoutError } from 'openai';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { RetraceError, asRetraceError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { AimdLimiter, type Outcome } from './aimd.ts';
import { parseChat, parsePromptLogprobs, usageOf, type Usage } from './answers.ts';
import { BadAnswer, backoffMs, classify, finalError, type Failure } from './failures.ts';
import type {
  CallOptions,
  ChatAnswer,
  ChatOptions,
  ChatRequest,
  CompletionLogprobsRequest,
  EndpointConfig,
  FailureKind,
  LlmEvent,
  LlmOp,
  LlmStats,
  PromptLogprobs,
} from './types.ts';

export type * from './types.ts';

/** Local servers (vLLM, llama.cpp, Ollama) accept any key; the SDK insists on one. */
const NO_KEY = 'sk-no-key-required';

const FAILURE_KINDS: FailureKind[] = [
  'rate_limit', 'server_error', 'timeout', 'connection', 'malformed', 'empty', 'rejected', 'auth', 'bad_request',
];

/** One HTTP attempt: the parsed value and the tokens it cost. */
type AttemptFn<T> = (signal: AbortSignal) => Promise<{ value: T; usage: Usage }>;

/** Marks our own deadline, to tell it apart from the caller aborting. */
class AttemptTimeout extends Error {}

export class LlmClient {
  private readonly cfg: Required<Omit<EndpointConfig, 'apiKeyEnv'>> & { apiKeyEnv?: string };
  private readonly onEvent?: (e: LlmEvent) => void;
  private readonly limiter: AimdLimiter;
  private sdk: OpenAI | undefined;
  /** When the endpoint last answered anything (a success, an HTTP error, a bad body), or the first attempt began. */
  private lastAnswerAt?: number;
  /** Set once the endpoint is judged hung: every call fails at once with it. */
  private hung?: RetraceError;
  private readonly counters = {
    requests: 0,
    retries: 0,
    succeeded: 0,
    failed: 0,
    promptTokens: 0,
    completionTokens: 0,
    failuresByKind: Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>,
  };

  constructor(cfg: EndpointConfig, opts: { onEvent?: (e: LlmEvent) => void } = {}) {
    this.cfg = {
      timeoutMs: 120_000,
      maxRetries: 6,
      maxConcurrency: 16,
      initialConcurrency: 4,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      ...cfg,
      hungAfterMs: cfg.hungAfterMs ?? Math.max(2 * (cfg.timeoutMs ?? 120_000), 60_000),
    };
    this.onEvent = opts.onEvent;
    this.limiter = new AimdLimiter({ initial: this.cfg.initialConcurrency, max: this.cfg.maxConcurrency });
  }

  chat(req: ChatRequest, opts: ChatOptions = {}): Promise<ChatAnswer> {
    const body = { model: this.cfg.model, ...req, stream: false as const };
    return this.withRetries('chat', opts, async (signal) => {
      const raw: unknown = await this.client().chat.completions.create(body, { signal, timeout: this.cfg.timeoutMs });
      const usage = this.account(raw);
      const answer = parseChat(raw, req.n ?? 1, this.cfg.model);
      const reason = runValidate(opts.validate, answer);
      if (reason !== undefined) throw new BadAnswer('rejected', reason);
      return { value: answer, usage };
    });
  }

  /** Log-probabilities of the prompt's own tokens (for scoring a span given what precedes it). */
  promptLogprobs(req: CompletionLogprobsRequest, opts: CallOptions = {}): Promise<PromptLogprobs> {
    if (req.prompt === '') return Promise.resolve({ tokens: [], tokenLogprobs: [], textOffset: [], promptTokens: 0 });
    // max_tokens 1, not 0: several vLLM versions reject 0; the generated token is dropped.
    const body = { model: this.cfg.model, prompt: req.prompt, echo: true, logprobs: 1, max_tokens: 1, temperature: 0, stream: false as const };
    return this.withRetries('logprobs', opts, async (signal) => {
      const raw: unknown = await this.client().completions.create(body, { signal, timeout: this.cfg.timeoutMs });
      const usage = this.account(raw);
      return { value: parsePromptLogprobs(raw, req.prompt, { item: opts.item, baseURL: redactUrl(this.cfg.baseURL) }), usage };
    });
  }

  stats(): LlmStats {
    const c = this.counters;
    return { ...c, failuresByKind: { ...c.failuresByKind }, concurrency: this.limiter.limit, inFlight: this.limiter.active };
  }

  /**
   * Built on first use, not in the constructor: a build whose calls all hit the cache must not
   * fail for want of a key.
   */
  private client(): OpenAI {
    if (this.sdk) return this.sdk;
    const { apiKeyEnv, baseURL, timeoutMs } = this.cfg;
    let apiKey = NO_KEY;
    if (apiKeyEnv) {
      apiKey = process.env[apiKeyEnv] ?? '';
      if (apiKey.trim() === '') {
        throw new RetraceError('LLM_AUTH', `environment variable ${apiKeyEnv} is empty`, {
          item: redactUrl(baseURL),
          hint: `export ${apiKeyEnv}=<key> for ${redactUrl(baseURL)}, or drop apiKeyEnv for a local server that needs no key`,
        });
      }
    }
    // fetch refuses URLs with credentials: `http://user:pass@host/v1` becomes Basic auth (unless
    // apiKeyEnv gives a bearer key), and the URL keeps no secret (issue 19).
    const url = new URL(baseURL);
    let defaultHeaders: Record<string, string> | undefined;
    if (url.username || url.password) {
      if (!apiKeyEnv) defaultHeaders = { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` };
      url.username = '';
      url.password = '';
    }
    this.sdk = new OpenAI({ baseURL: url.href.replace(/\/$/, baseURL.endsWith('/') ? '/' : ''), apiKey, maxRetries: 0, timeout: timeoutMs, defaultHeaders });
    return this.sdk;
  }

  private account(raw: unknown): Usage {
    const u = usageOf(raw);
    this.counters.promptTokens += u.promptTokens;
    this.counters.completionTokens += u.completionTokens;
    return u;
  }

  private async withRetries<T>(op: LlmOp, opts: CallOptions, attemptFn: AttemptFn<T>): Promise<T> {
    const { item, signal } = opts;
    // A build's calls share its one signal: each waiting or running call holds a listener on it
    // (removed when the call ends), so dozens at once are normal, not a leak. Without this Node
    // warns "MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]".
    if (signal) setMaxListeners(0, signal);
    const emit = (e: LlmEvent) => this.onEvent?.(e);
    // Checked before any request: fails the same way whether or not the server would notice.
    try {
      this.client();
    } catch (err) {
      const error = asRetraceError(err, 'LLM_REQUEST_FAILED', item);
      this.counters.failed++;
      emit({ type: 'failure', op, item, attempt: 0, error });
      throw error;
    }
    for (let attempt = 0; ; attempt++) {
      const permit = await this.limiter.acquire(signal);
      this.lastAnswerAt ??= Date.now();
      if (this.hung) {
        permit.release('failure');
        this.counters.failed++;
        const error = new RetraceError(this.hung.code, this.hung.message, { item, hint: this.hung.hint });
        emit({ type: 'failure', op, item, attempt, error });
        throw error;
      }
      const started = Date.now();
      this.counters.requests++;
      emit({ type: 'request', op, item, attempt });
      let failure: Failure;
      let cause: unknown;
      try {
        const { value, usage } = await this.attempt(attemptFn, signal);
        permit.release('success');
        this.lastAnswerAt = Date.now();
        this.counters.succeeded++;
        emit({ type: 'success', op, item, attempt, ms: Date.now() - started, ...usage });
        return value;
      } catch (err) {
        if (signal?.aborted) {
          permit.release('failure');
          throw signal.reason;
        }
        if (err instanceof RetraceError) {
          // Our own verdicts (SCORER_NO_PROMPT_LOGPROBS) are final.
          permit.release('failure');
          this.counters.failed++;
          emit({ type: 'failure', op, item, attempt, error: err });
          throw err;
        }
        cause = err;
        failure = classify(err);
        permit.release(outcomeOf(failure), failure.retryAfterMs);
      }
      this.counters.failuresByKind[failure.kind]++;
      if (failure.kind === 'timeout') {
        const silentMs = Date.now() - this.lastAnswerAt!;
        if (silentMs >= this.cfg.hungAfterMs && !this.hung) {
          const shown = redactUrl(this.cfg.baseURL);
          this.hung = new RetraceError('LLM_TIMEOUT', `the endpoint ${shown} looks hung: no answer of any kind for ${Math.round(silentMs / 1000)} s (attempts time out after ${this.cfg.timeoutMs} ms)`, {
            item,
            hint: `check that the server at ${shown} is up and not stuck; raise timeoutMs if its answers are legitimately slower. Finished answers are cached`,
          });
        }
      } else if (failure.kind !== 'connection') {
        this.lastAnswerAt = Date.now();
      }
      if (this.hung && failure.kind === 'timeout') {
        this.counters.failed++;
        const error = new RetraceError(this.hung.code, this.hung.message, { item, hint: this.hung.hint, cause });
        emit({ type: 'failure', op, item, attempt, error });
        throw error;
      }
      if (!failure.retryable || attempt >= this.cfg.maxRetries) {
        const error = finalError(failure, { op, item, attempts: attempt + 1, cause, ...this.cfg, baseURL: redactUrl(this.cfg.baseURL) });
        this.counters.failed++;
        emit({ type: 'failure', op, item, attempt, error });
        throw error;
      }
      const delayMs = failure.retryAfterMs ?? backoffMs(attempt, this.cfg.backoffBaseMs, this.cfg.backoffCapMs);
      this.counters.retries++;
      emit({ type: 'retry', op, item, attempt, reason: failure.kind, message: failure.message, delayMs });
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        throw signal!.reason;
      }
    }
  }

  /** One attempt under a deadline that covers the body too, chained to the caller's signal. */
  private async attempt<T>(attemptFn: AttemptFn<T>, outer: AbortSignal | undefined): Promise<{ value: T; usage: Usage }> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new AttemptTimeout()), this.cfg.timeoutMs);
    const forward = () => ctl.abort(outer!.reason);
    outer?.addEventListener('abort', forward, { once: true });
    try {
      return await attemptFn(ctl.signal);
    } catch (err) {
      if (ctl.signal.reason instanceof AttemptTimeout) throw new APIConnectionTimeoutError();
      throw err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', forward);
    }
  }
}

/** A validator that throws (JSON.parse on a bad answer, typically) rejects the answer. */
function runValidate(validate: ChatOptions['validate'], answer: ChatAnswer): string | undefined {
  if (!validate) return undefined;
  try {
    return validate(answer);
  } catch (err) {
    return `validate threw: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** What the limiter learns: an answer that arrived (even a rejected one) shows capacity. */
function outcomeOf(f: Failure): Outcome {
  if (f.kind === 'rate_limit') return 'rate-limited';
  if (f.kind === 'rejected' || f.kind === 'empty') return 'success';
  return 'failure';
}
