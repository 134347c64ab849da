/**
 * The LLM settings of a build, with defaults filled in. The provider is 'offline' unless an
 * endpoint is configured (or provider: 'openai' is set), so a build runs anywhere.
 */
import { isAbsolute, resolve } from 'node:path';
import type { LlmEndpointConfig, LoadedConfig } from '../config.ts';
import type { ProviderId } from './request.ts';

/** The offline provider's "model": bump when its generated text changes. */
export const OFFLINE_MODEL = 'offline-structural-1';

const DEFAULT_TEMPERATURE = 0.3;
/** Caps of max_tokens; each call asks for what its answer needs (plan/parts.ts, implement/budget.ts), within the cap. */
const DEFAULT_MAX_TOKENS = { plan: 4096, implement: 1024 };
/** Llama-3-8B's context: every request is budgeted to fit it unless llm.contextTokens says otherwise. */
export const DEFAULT_LLM_CONTEXT_TOKENS = 8192;
/** Turns of a file's loop: up to 5 Reads, then the Write. */
export const DEFAULT_MAX_TURNS = 6;
/** Sent to servers that honour it, so a re-computed answer is as repeatable as the server allows. */
const DEFAULT_SEED = 0;

export interface LlmSettings {
  provider: ProviderId;
  model: string;
  endpoint?: LlmEndpointConfig;
  /** null for the offline provider: sampling cannot change its output, so it stays out of keys. */
  temperature: number | null;
  seed: number | null;
  /** Caps of max_tokens per call (null offline: nothing is sent). */
  maxTokens: { plan: number | null; implement: number | null };
  /** The context every request must fit (prompt + max_tokens), in tokens. Budgets apply offline too, so both providers see the same prompts. */
  contextTokens: number;
  /** Turns of a file's Think / Action loop. */
  maxTurns: number;
  tokenBudget?: number;
  /** Absolute folder overriding the prompt files, if configured. */
  promptsDir?: string;
}

export function resolveLlmSettings(loaded: LoadedConfig): LlmSettings {
  const llm = loaded.config.llm ?? {};
  const promptsDir = (llm as { promptsDir?: string }).promptsDir;
  const common = {
    tokenBudget: llm.tokenBudget,
    contextTokens: llm.contextTokens ?? DEFAULT_LLM_CONTEXT_TOKENS,
    maxTurns: llm.maxTurns ?? DEFAULT_MAX_TURNS,
    promptsDir: promptsDir === undefined ? undefined : isAbsolute(promptsDir) ? promptsDir : resolve(loaded.dir, promptsDir),
  };
  const provider: ProviderId = llm.provider ?? (llm.endpoint ? 'openai' : 'offline');
  if (provider === 'offline') {
    return { ...common, provider, model: OFFLINE_MODEL, temperature: null, seed: null, maxTokens: { plan: null, implement: null } };
  }
  // validateConfig guarantees an endpoint with provider 'openai'.
  const endpoint = llm.endpoint!;
  return {
    ...common,
    provider,
    model: endpoint.model,
    endpoint,
    temperature: llm.temperature ?? DEFAULT_TEMPERATURE,
    seed: DEFAULT_SEED,
    maxTokens: { plan: llm.maxTokens ?? DEFAULT_MAX_TOKENS.plan, implement: llm.maxTokens ?? DEFAULT_MAX_TOKENS.implement },
  };
}
