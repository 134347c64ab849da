/**
 * Classifying a failed attempt: what went wrong, whether another attempt can help, and how long
 * the server asked us to wait. Retries are ours (the SDK runs with maxRetries: 0) so that every
 * attempt passes through the AIMD limiter, the events and the statistics.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { RetraceError } from '../errors.ts';
import type { FailureKind } from './types.ts';

/** An HTTP 200 whose content cannot be used; thrown inside an attempt, classified below. */
export class BadAnswer extends Error {
  constructor(
    readonly kind: 'malformed' | 'empty' | 'rejected',
    message: string,
  ) {
    super(message);
    this.name = 'BadAnswer';
  }
}

export interface Failure {
  kind: FailureKind;
  retryable: boolean;
  message: string;
  status?: number;
  /** From Retry-After / retry-after-ms on a 429 or 503. */
  retryAfterMs?: number;
}

/** A Retry-After far in the future (or a bogus date) must not park a build for hours. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export function classify(err: unknown): Failure {
  if (err instanceof BadAnswer) return { kind: err.kind, retryable: true, message: err.message };
  // Subclass first: a timeout is also a connection error.
  if (err instanceof APIConnectionTimeoutError) return { kind: 'timeout', retryable: true, message: 'request timed out' };
  if (err instanceof APIConnectionError) return { kind: 'connection', retryable: true, message: err.message };
  if (err instanceof APIError && typeof err.status === 'number') return classifyStatus(err);
  // Not an SDK error: the body failed to parse (SyntaxError) or its socket died mid-read (undici's
  // "terminated" TypeError). Both are worth another attempt.
  if (err instanceof SyntaxError) return { kind: 'malformed', retryable: true, message: `unparsable body: ${err.message}` };
  const message = err instanceof Error ? describeCause(err) : String(err);
  return { kind: 'connection', retryable: true, message };
}

function classifyStatus(err: APIError): Failure {
  const status = err.status as number;
  const message = `HTTP ${status}: ${err.message}`;
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false, status, message };
  if (status === 429 || status === 503) {
    const kind: FailureKind = status === 429 ? 'rate_limit' : 'server_error';
    return { kind, retryable: true, status, message, retryAfterMs: retryAfterMs(err.headers) };
  }
  if (status === 408) return { kind: 'timeout', retryable: true, status, message };
  // 409 is a lock conflict on OpenAI's side: transient.
  if (status === 409 || status >= 500) return { kind: 'server_error', retryable: true, status, message };
  return { kind: 'bad_request', retryable: false, status, message };
}

function describeCause(err: Error): string {
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** retry-after-ms (OpenAI's, more precise) wins over Retry-After (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  let ms: number | undefined;
  const precise = headers.get('retry-after-ms');
  if (precise !== null && precise.trim() !== '' && Number.isFinite(Number(precise))) ms = Number(precise);
  const coarse = headers.get('retry-after');
  if (ms === undefined && coarse !== null && coarse.trim() !== '') {
    ms = Number.isFinite(Number(coarse)) ? Number(coarse) * 1000 : Date.parse(coarse) - Date.now();
  }
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Full jitter (uniform in [0, min(cap, base * 2^attempt)]): retries of many calls spread out. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Answers that were delivered but are unusable end in LLM_BAD_ANSWER, the rest in LLM_REQUEST_FAILED. */
export function finalError(
  f: Failure,
  ctx: { op: string; item?: string; attempts: number; baseURL: string; model: string; apiKeyEnv?: string; timeoutMs?: number; cause: unknown },
): RetraceError {
  const where = { item: ctx.item, cause: ctx.cause };
  if (f.kind === 'auth') {
    const hint = ctx.apiKeyEnv
      ? `check the key in $${ctx.apiKeyEnv} and that it may use model '${ctx.model}' at ${ctx.baseURL}`
      : `the server at ${ctx.baseURL} wants a key: set apiKeyEnv to the name of the variable holding it`;
    return new RetraceError('LLM_AUTH', `${ctx.op} rejected: ${f.message}`, { ...where, hint });
  }
  if (f.kind === 'bad_request') {
    return new RetraceError('LLM_REQUEST_FAILED', `${ctx.op} rejected by the server: ${f.message}`, {
      ...where,
      hint: `check model '${ctx.model}' and baseURL ${ctx.baseURL}, and that the server supports this endpoint`,
    });
  }
  const tries = `after ${ctx.attempts} attempt${ctx.attempts === 1 ? '' : 's'}`;
  if (f.kind === 'timeout') {
    return new RetraceError('LLM_TIMEOUT', `${ctx.op}: the endpoint did not answer ${tries}, each given ${ctx.timeoutMs} ms`, {
      ...where,
      hint: `check that the server at ${ctx.baseURL} is up and not stuck; raise timeoutMs if its answers are legitimately slower`,
    });
  }
  if (f.kind === 'malformed' || f.kind === 'empty' || f.kind === 'rejected') {
    return new RetraceError('LLM_BAD_ANSWER', `${ctx.op}: no usable answer ${tries} (last: ${f.kind}: ${f.message})`, {
      ...where,
      hint: 'the model keeps answering in an unusable form: check the prompt, the model or max_tokens; raise maxRetries if it is rare',
    });
  }
  return new RetraceError('LLM_REQUEST_FAILED', `${ctx.op} failed ${tries} (last: ${f.kind}: ${f.message})`, {
    ...where,
    hint: `the endpoint ${ctx.baseURL} keeps failing: check that it is up, lower maxConcurrency, or raise maxRetries/timeoutMs`,
  });
}
