/**
 * The public shapes of the LLM layer. The engine renders a ChatRequest, uses it as a cache key and
 * only calls the client on a miss; nothing here knows about trajectories or caching.
 */
import type { RetraceError } from '../errors.ts';

export interface EndpointConfig {
  /** OpenAI-compatible base URL, ending in /v1 (vLLM, llama.cpp, Ollama, OpenAI). */
  baseURL: string;
  model: string;
  /** Name of the environment variable holding the key; unset for local servers that need none. */
  apiKeyEnv?: string;
  /** Per attempt, covering the whole response body (default 120000). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 6). */
  maxRetries?: number;
  /**
   * A hung endpoint ends in minutes (issue 19): once an attempt times out when the endpoint has
   * given no answer of any kind for this long (default: 2 x timeoutMs and at least 60 s, so about
   * 4 min with the default timeout), every call fails at once with LLM_TIMEOUT.
   */
  hungAfterMs?: number;
  /** Ceiling of the adaptive concurrency limit (default 16). */
  maxConcurrency?: number;
  /** Where the adaptive limit starts (default 4). */
  initialConcurrency?: number;
  /** Full-jitter backoff: base of the exponential (default 500 ms) and its cap (default 30000 ms). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  n?: number;
  stop?: string[];
}

export interface ChatAnswer {
  /** The first choice (the only one unless the request asked for n > 1). */
  content: string;
  finishReason: string;
  /** Every choice's content in index order; choices[0] === content. */
  choices: string[];
  promptTokens: number;
  completionTokens: number;
  model: string;
}

/** Scored with echo: true, logprobs: 1, max_tokens: 1. */
export interface CompletionLogprobsRequest {
  prompt: string;
}

export interface PromptLogprobs {
  /** Prompt tokens only; the generated token is dropped. */
  tokens: string[];
  /** One per token; the first is null on servers that cannot score the first token. */
  tokenLogprobs: Array<number | null>;
  /** Start of each token as a JS string index into the prompt (converted from code points). */
  textOffset: number[];
  promptTokens: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** What the call is for (repository/file), named in errors and events. */
  item?: string;
}

export interface ChatOptions extends CallOptions {
  /** Returns a reason if the answer is unusable: it is then retried like a transient failure. */
  validate?: (a: ChatAnswer) => string | undefined;
}

/** Why one attempt failed. */
export type FailureKind =
  | 'rate_limit' // 429
  | 'server_error' // 5xx, 409
  | 'timeout' // our deadline, the SDK's, or 408
  | 'connection' // refused, reset, body cut short
  | 'malformed' // unparsable body, wrong shape
  | 'empty' // no choices or empty content
  | 'rejected' // the validate callback said no
  | 'auth' // 401, 403: never retried
  | 'bad_request'; // other 4xx: never retried

export type LlmOp = 'chat' | 'logprobs';

export type LlmEvent =
  | { type: 'request'; op: LlmOp; item?: string; attempt: number }
  | { type: 'retry'; op: LlmOp; item?: string; attempt: number; reason: FailureKind; message: string; delayMs: number }
  | { type: 'success'; op: LlmOp; item?: string; attempt: number; ms: number; promptTokens: number; completionTokens: number }
  | { type: 'failure'; op: LlmOp; item?: string; attempt: number; error: RetraceError };

export interface LlmStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  /** Calls that returned an answer / that threw after their last attempt. */
  succeeded: number;
  failed: number;
  /** Failed attempts by reason (an attempt that was retried counts here too). */
  failuresByKind: Record<FailureKind, number>;
  /** Tokens paid for, including answers that validate rejected. */
  promptTokens: number;
  completionTokens: number;
  /** Current adaptive limit and requests in flight. */
  concurrency: number;
  inFlight: number;
}
