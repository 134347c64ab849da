/**
 * Providers answer a rendered request on a cache miss. 'openai' is the LlmClient against an
 * OpenAI-compatible endpoint (concurrency, backoff and retries live in the client; an answer
 * without the JSON asked for is retried through its validate hook). 'offline' writes from the
 * facts and sends nothing.
 */
import { RetraceError } from '../../src/errors.ts';
import type { LlmClient } from '../../src/llm/client.ts';
import type { LlmEndpointConfig } from '../config.ts';
import { answerProblem } from './json.ts';
import { offlineAnswer, type OfflineContext } from './offline.ts';
import type { LlmAnswer, LlmRequest, ProviderId } from './request.ts';

export interface ProviderUsage {
  /** Requests sent over the network, retries included. */
  requests: number;
  retries: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
}

export interface Provider {
  readonly id: ProviderId;
  complete(req: LlmRequest, context: OfflineContext | undefined, opts: { item: string; signal: AbortSignal }): Promise<LlmAnswer>;
  usage(): ProviderUsage;
}

export function openaiProvider(endpoint: LlmEndpointConfig, onRequest: (item: string | undefined) => void): Provider {
  // The openai SDK is loaded on the first cache miss: a build answered from the cache never pays for it.
  let client: LlmClient | undefined;
  const connect = async (): Promise<LlmClient> => {
    if (!client) {
      const { LlmClient } = await import('../../src/llm/client.ts');
      client ??= new LlmClient(endpoint, { onEvent: (e) => e.type === 'request' && onRequest(e.item) });
    }
    return client;
  };
  return {
    id: 'openai',
    async complete(req, _context, { item, signal }) {
      const a = await (await connect()).chat(
        {
          messages: req.messages,
          ...(req.temperature !== null && { temperature: req.temperature }),
          ...(req.top_p !== null && { top_p: req.top_p }),
          ...(req.max_tokens !== null && { max_tokens: req.max_tokens }),
          ...(req.seed !== null && { seed: req.seed }),
        },
        { item, signal, validate: (answer) => answerProblem(req.schema, answer.content) },
      );
      return { content: a.content, finishReason: a.finishReason, model: a.model, promptTokens: a.promptTokens, completionTokens: a.completionTokens };
    },
    usage() {
      if (!client) return { requests: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 };
      const s = client.stats();
      return { requests: s.requests, retries: s.retries, failed: s.failed, promptTokens: s.promptTokens, completionTokens: s.completionTokens };
    },
  };
}

export function offlineProvider(model: string): Provider {
  return {
    id: 'offline',
    async complete(_req, context, { item }) {
      if (!context) throw new RetraceError('STAGE_FAILED', 'the offline provider got a call without its facts context', { item });
      return { content: offlineAnswer(context), finishReason: 'stop', model, promptTokens: 0, completionTokens: 0 };
    },
    usage: () => ({ requests: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 }),
  };
}
