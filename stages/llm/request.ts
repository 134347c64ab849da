/**
 * The rendered LLM request: everything that is sent and can change the answer, and nothing else.
 * It is the llm stage's cache key, so a prompt edit re-sends exactly the calls whose rendered
 * request changed. Absent sampling settings are kept as null (keys never drop fields).
 */
import type { ChatMessage } from '../../src/llm/types.ts';

export type ProviderId = 'openai' | 'offline';

/** Which JSON shape the answer must have; an answer of another shape is retried, never cached. */
export type AnswerSchema = 'plan-1' | 'implement-1' | 'thought-1';

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
}

/** Which agent made a call: summaries are reported per agent. */
export type AgentRole = 'plan' | 'implement' | 'search';
