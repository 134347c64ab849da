/**
 * The LLM client's error codes (src/llm is the engine's OpenAI-compatible client; the pipeline
 * that calls it adds its own codes in stages/errors.ts).
 */
import { registerCodes, type CodeSpec } from '../errors.ts';

declare module '../errors.ts' {
  interface ErrorCodes {
    LLM_REQUEST_FAILED: true;
    LLM_BAD_ANSWER: true;
    LLM_AUTH: true;
    SCORER_NO_PROMPT_LOGPROBS: true;
    LLM_TIMEOUT: true;
  }
}

export const LLM_CODES = registerCodes('llm client', {
  LLM_REQUEST_FAILED: { kind: 'error', meaning: 'an LLM request failed after its retries (network, timeout, server error)' },
  LLM_BAD_ANSWER: { kind: 'error', meaning: 'the LLM answered, but never with a usable answer (wrong JSON, cut off) after the retries' },
  LLM_AUTH: { kind: 'error', meaning: 'the LLM endpoint refused the credentials, or the API key variable is empty' },
  SCORER_NO_PROMPT_LOGPROBS: { kind: 'error', meaning: 'the scoring endpoint does not return a logprob for every prompt token' },
  LLM_TIMEOUT: { kind: 'error', meaning: 'the LLM endpoint gave no answer within its timeout, on every try: it is judged hung' },
} satisfies Record<'LLM_REQUEST_FAILED' | 'LLM_BAD_ANSWER' | 'LLM_AUTH' | 'SCORER_NO_PROMPT_LOGPROBS' | 'LLM_TIMEOUT', CodeSpec>);
