/**
 * Providers answer a rendered request on a cache miss. 'openai' is the LlmClient against an
 * OpenAI-compatible endpoint: concurrency, backoff and transport retries (the same body again)
 * live in the client; here an answer cut at max_tokens is continued (the partial answer and a
 * "continue" message appended), and an unusable answer (no JSON of the asked shape, or one the
 * caller's check rejects: a copied span of code, a read that is not allowed) is re-sampled with
 * another seed, never sent identically. The answer record says which seed gave it and which
 * samples were rejected. 'offline' writes from the facts and sends nothing.
 */
import { RetraceError } from '../../src/errors.ts';
import type { LlmClient } from '../../src/llm/client.ts';
import type { LlmEndpointConfig } from '../config.ts';
import { answerProblem } from './json.ts';
import { offlineAnswer, type OfflineContext } from './offline.ts';
import type { AnswerCheck, LlmAnswer, LlmRequest, ProviderId } from './request.ts';

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
  complete(req: LlmRequest, context: OfflineContext | undefined, opts: { item: string; signal: AbortSignal; check?: AnswerCheck }): Promise<LlmAnswer>;
  usage(): ProviderUsage;
}

/** Re-samples after an unusable answer (each with a new seed), before the call fails with LLM_BAD_ANSWER. */
export const MAX_RESAMPLES = 3;
/** Continuations of an answer cut at max_tokens, before it counts as unusable. */
export const MAX_CONTINUATIONS = 2;
/** Seeds of re-samples: far from the search's sample seeds (seed + iteration·1000 + candidate). */
const RESAMPLE_SEED_STRIDE = 1_000_003;

/** The seed of re-sample `attempt` (0 = the request's own seed). Null seeds become 1, 2, ...: always different. */
export function resampleSeed(seed: number | null, attempt: number): number | null {
  if (attempt === 0) return seed;
  return seed === null ? attempt : seed + attempt * RESAMPLE_SEED_STRIDE;
}

/** Sent after an answer cut at max_tokens: the model goes on from where it stopped. */
export const CONTINUE_MESSAGE = 'Your answer was cut off at the length limit. Continue it exactly from where it stopped: do not repeat anything, do not start over.';

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
  /**
   * One sample: the request with `seed`, continued while the server cuts it at max_tokens and
   * the text is not yet a usable answer. Transport failures are the client's (same body again).
   */
  const sample = async (req: LlmRequest, seed: number | null, item: string, signal: AbortSignal) => {
    const c = await connect();
    let messages = req.messages;
    let content = '';
    let finishReason = 'unknown';
    let model = req.model;
    let promptTokens = 0;
    let completionTokens = 0;
    let continuations = 0;
    for (;;) {
      const a = await c.chat(
        {
          messages,
          ...(req.temperature !== null && { temperature: req.temperature }),
          ...(req.top_p !== null && { top_p: req.top_p }),
          ...(req.max_tokens !== null && { max_tokens: req.max_tokens }),
          ...(seed !== null && { seed }),
        },
        { item, signal },
      );
      content += a.content;
      finishReason = a.finishReason;
      model = a.model;
      promptTokens += a.promptTokens;
      completionTokens += a.completionTokens;
      if (finishReason !== 'length' || answerProblem(req.schema, content) === undefined || continuations >= MAX_CONTINUATIONS) break;
      continuations++;
      messages = [...req.messages, { role: 'assistant', content }, { role: 'user', content: CONTINUE_MESSAGE }];
    }
    return { content, finishReason, model, promptTokens, completionTokens, continuations };
  };
  return {
    id: 'openai',
    async complete(req, _context, { item, signal, check }) {
      const rejected: Array<{ seed: number | null; problem: string }> = [];
      let promptTokens = 0;
      let completionTokens = 0;
      for (let attempt = 0; ; attempt++) {
        const seed = resampleSeed(req.seed, attempt);
        const a = await sample(req, seed, item, signal);
        promptTokens += a.promptTokens;
        completionTokens += a.completionTokens;
        const problem =
          answerProblem(req.schema, a.content) ??
          (a.finishReason === 'length' ? `cut at max_tokens (${req.max_tokens}) after ${a.continuations} continuation${a.continuations === 1 ? '' : 's'}` : undefined) ??
          check?.(a.content);
        if (problem === undefined) {
          return { content: a.content, finishReason: a.finishReason, model: a.model, promptTokens, completionTokens, seed, rejected, continuations: a.continuations };
        }
        rejected.push({ seed, problem });
        if (attempt >= MAX_RESAMPLES) {
          throw new RetraceError('LLM_BAD_ANSWER', `no usable answer after ${attempt + 1} samples with seeds ${rejected.map((r) => r.seed).join(', ')} (last: ${problem})`, {
            item,
            hint: 'the model keeps answering in an unusable form: check the prompt files, the model, llm.maxTokens and llm.contextTokens',
          });
        }
      }
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
    async complete(_req, context, { item, check }) {
      if (!context) throw new RetraceError('STAGE_FAILED', 'the offline provider got a call without its facts context', { item });
      const content = offlineAnswer(context);
      // The offline text is deterministic: an answer its own check rejects is a bug, not bad luck.
      const problem = check?.(content);
      if (problem !== undefined) throw new RetraceError('STAGE_FAILED', `the offline provider wrote an unusable answer: ${problem}`, { item });
      return { content, finishReason: 'stop', model, promptTokens: 0, completionTokens: 0 };
    },
    usage: () => ({ requests: 0, retries: 0, failed: 0, promptTokens: 0, completionTokens: 0 }),
  };
}
