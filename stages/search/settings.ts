/**
 * The search settings of a build, with defaults filled in. Search is off unless
 * `search.enabled` is true; the paper's setting (2 candidates, 3 iterations) is the default.
 * The scorer is the offline cache language model unless an endpoint is configured (or
 * provider: 'openai' is set): then the model the user will train can score with its own
 * prompt log-probabilities.
 */
import type { LlmEndpointConfig, LoadedConfig } from '../config.ts';

/** The offline scorer's "model": bump when offline-lm.ts would score any text differently. */
export const OFFLINE_LM_MODEL = 'offline-cache-lm-2';

export const DEFAULT_CANDIDATES = 2;
export const DEFAULT_ITERATIONS = 3;
/** Llama-3-8B's pretraining context; long prompts are truncated from the left to fit. */
export const DEFAULT_CONTEXT_TOKENS = 8192;

export interface ScorerSettings {
  provider: 'offline' | 'openai';
  model: string;
  endpoint?: LlmEndpointConfig;
  /** Context limit in Llama-3 tokens (openai only; the offline model has none). */
  contextTokens: number | null;
}

export interface SearchSettings {
  enabled: boolean;
  /** 'write': the Think before each Write is searched; 'all': every Think of the file's loop. */
  steps: 'write' | 'all';
  candidates: number;
  iterations: number;
  scorer: ScorerSettings;
}

export function resolveSearchSettings(loaded: LoadedConfig): SearchSettings {
  const s = loaded.config.search ?? {};
  const sc = s.scorer ?? {};
  const provider = sc.provider ?? (sc.endpoint ? 'openai' : 'offline');
  // validateConfig guarantees an endpoint with provider 'openai'.
  const scorer: ScorerSettings =
    provider === 'openai'
      ? { provider, model: sc.endpoint!.model, endpoint: sc.endpoint, contextTokens: sc.contextTokens ?? DEFAULT_CONTEXT_TOKENS }
      : { provider, model: OFFLINE_LM_MODEL, contextTokens: null };
  return {
    enabled: s.enabled === true && loaded.config.format === 'trajectory',
    steps: s.steps ?? 'write',
    candidates: s.candidates ?? DEFAULT_CANDIDATES,
    iterations: s.iterations ?? DEFAULT_ITERATIONS,
    scorer,
  };
}
