/**
 * llm: one cached LLM call. The key is exactly the rendered request (provider, model, messages,
 * the sampling settings that change the answer, the sample index and the answer schema), plus,
 * for the offline provider, the facts it writes from. The executor stores the answer the moment
 * run() returns, never stores a failure, and shares one computation between identical calls in
 * flight: an interrupted build resumes without paying for a finished call again.
 */
import { hashText } from '../../src/hash.ts';
import { canonicalJson, hashCanonicalList } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import type { OfflineContext } from './offline.ts';
import type { AgentRole, AnswerCheck, LlmAnswer, LlmRequest } from './request.ts';
import type { LlmSession } from './session.ts';

export interface LlmCallInput {
  role: AgentRole;
  /** `repo` for the plan call, `repo:path` for a file's call. */
  item: string;
  request: LlmRequest;
  /** The offline provider's input; undefined for network providers (they get only the messages). */
  context?: OfflineContext;
  /** Not part of the key: how to answer a miss. */
  session: LlmSession;
  /** Not part of the key: rejects an unusable answer (re-sampled with another seed). A cached answer passed it when it was made. */
  check?: AnswerCheck;
}

export const llmStage = defineStage<LlmCallInput, LlmAnswer>({
  name: 'llm',
  version: '1',
  deps: ['graph'],
  description: 'one cached LLM call per agent step, keyed by the fully rendered request',
  // Concurrent builds and partitions sharing a cache send each call once (issue 19). The offline
  // provider costs nothing and answers at once: claiming would only add round trips to a remote.
  claim: (i) => i.request.provider !== 'offline',
  item: (i) => (i.request.sample > 0 ? `${i.item}#${i.request.sample}` : i.item),
  key: ({ request: r, context }) => ({
    inputs: {
      messages: hashCanonicalList(r.messages),
      context: context ? hashText(canonicalJson(context)) : 'none',
    },
    settings: {
      provider: r.provider,
      model: r.model,
      temperature: r.temperature,
      top_p: r.top_p,
      max_tokens: r.max_tokens,
      seed: r.seed,
      sample: r.sample,
      schema: r.schema,
    },
  }),
  run: (i, ctx) => i.session.complete(i.role, i.item, i.request, i.context, ctx.signal, i.check),
});
