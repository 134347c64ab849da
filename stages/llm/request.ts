/**
 * The rendered LLM request: everything that is sent and can change the answer, and nothing else.
 * It is the llm stage's cache key, so a prompt edit re-sends exactly the calls whose rendered
 * request changed. Absent sampling settings are kept as null (keys never drop fields).
 */
import type { ChatMessage } from '../../src/llm/types.ts';
import type { LlmSettings } from './settings.ts';

export type ProviderId = 'openai' | 'offline';

/** Which JSON shape the answer must have; an answer of another shape is retried, never cached. */
export type AnswerSchema = 'plan-1' | 'implement-1' | 'turn-1' | 'thought-1';

export interface LlmRequest {
  provider: ProviderId;
  model: string;
  messages: ChatMessage[];
  temperature: number | null;
  top_p: number | null;
  max_tokens: number | null;
  seed: number | null;
  /** Index of an alternative sample of the same request (0 unless several are wanted). */
  sample: number;
  schema: AnswerSchema;
}

export interface LlmAnswer {
  content: string;
  finishReason: string;
  model: string;
  /** Tokens this answer cost when it was computed (not paid again on a cache hit). */
  promptTokens: number;
  completionTokens: number;
  /** The seed of the request that gave this answer (the request's, unless a bad answer was re-sampled). */
  seed?: number | null;
  /** Answers rejected before this one, each with the seed it was sampled with and why it was unusable. */
  rejected?: Array<{ seed: number | null; problem: string }>;
  /** Continuation requests sent because the answer was cut at max_tokens (finish_reason "length"). */
  continuations?: number;
}

/** Why an answer cannot be used (so it is re-sampled with another seed), or undefined. Not part of the key. */
export type AnswerCheck = (content: string) => string | undefined;

/** Which agent made a call: summaries are reported per agent. */
export type AgentRole = 'plan' | 'implement' | 'search';

/**
 * A system + user request with the configured provider, model and sampling settings: the one
 * way every agent (plan, implement, search) renders its calls.
 */
export function chatRequest(
  settings: LlmSettings,
  parts: { system: string; user: string; maxTokens: number | null; schema: AnswerSchema; sample?: number; seed?: number | null },
): LlmRequest {
  return conversationRequest(settings, {
    ...parts,
    messages: [
      { role: 'system', content: parts.system },
      { role: 'user', content: parts.user },
    ],
  });
}

/** A request carrying a whole conversation (a sub-agent's loop: system, user, then assistant/observation pairs). */
export function conversationRequest(
  settings: LlmSettings,
  parts: { messages: ChatMessage[]; maxTokens: number | null; schema: AnswerSchema; sample?: number; seed?: number | null },
): LlmRequest {
  return {
    provider: settings.provider,
    model: settings.model,
    messages: parts.messages,
    temperature: settings.temperature,
    top_p: null,
    max_tokens: parts.maxTokens,
    seed: parts.seed === undefined ? settings.seed : parts.seed,
    sample: parts.sample ?? 0,
    schema: parts.schema,
  };
}
