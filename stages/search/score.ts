/**
 * score: log p(target | prefix + thought) under the configured scorer, one cached item per
 * scored text. The key is the scorer, its model, the exact text and where the target (and, for
 * the offline model, the thought) starts; the offline model's background table is an input by
 * hash. So a score is never computed twice, whichever step or iteration asks for it.
 *
 * 'openai': one echo+logprobs completion; the target's log-likelihood is the sum over the
 * tokens whose text_offset falls inside it. 'offline': the cache LM of offline-lm.ts, in a
 * worker thread.
 */
import { RetraceError } from '../../src/errors.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { defineStage } from '../../src/stage.ts';
import { fitContext } from './context.ts';
import type { OfflineScore, UnigramTable } from './offline-lm.ts';
import type { ScoredText } from './prefix.ts';
import type { SearchSession } from './session.ts';

const OFFLINE_TASK = new URL('./offline-lm-task.ts', import.meta.url).href;

export interface ScoreInput {
  /** `repo:path#iteration.candidate` (#0 for the initial thought). */
  item: string;
  text: ScoredText;
  /** The offline model's background unigram (undefined with the openai scorer). */
  background?: { hash: ContentHash; table: UnigramTable };
  /** Not part of the key: how to answer a miss. */
  session: SearchSession;
}

export interface Score {
  /** Natural-log likelihood of the scored target tokens. */
  logprob: number;
  /** Target tokens scored (the scorer's tokens). */
  tokens: number;
  /** Tokens of the scored text as sent (after truncation), in the scorer's tokens. */
  promptTokens: number;
  /** Llama-3 tokens cut to fit the scorer's context (0 offline). */
  prefixTokensDropped: number;
  targetTokensDropped: number;
}

export const scoreStage = defineStage<ScoreInput, Score>({
  name: 'score',
  version: '1',
  deps: ['search-corpus'],
  description: 'log-likelihood of the real code that follows a thought, under the search scorer',
  item: (i) => i.item,
  key: ({ text, background, session }) => {
    const sc = session.settings.scorer;
    return {
      inputs: { prompt: hashText(text.prompt), background: background?.hash ?? 'none' },
      settings: {
        scorer: sc.provider,
        model: sc.model,
        targetStart: text.targetStart,
        // Only the offline model treats the thought apart from the rest of the prefix.
        thought: sc.provider === 'offline' ? text.thought : null,
        contextTokens: sc.contextTokens,
      },
    };
  },
  async run({ item, text, background, session }, ctx) {
    const sc = session.settings.scorer;
    if (sc.provider === 'offline') {
      const r = await ctx.pool.run<OfflineScore>(
        OFFLINE_TASK,
        { prompt: text.prompt, thought: text.thought, targetStart: text.targetStart, background: background!.table },
        { item },
      );
      return { ...r, prefixTokensDropped: 0, targetTokensDropped: 0 };
    }
    const fit = await fitContext(text.prompt, text.targetStart, sc.contextTokens!);
    const lp = await session.logprobs(fit.prompt, item, ctx.signal);
    let logprob = 0;
    let tokens = 0;
    lp.tokenLogprobs.forEach((v, i) => {
      if (lp.textOffset[i]! >= fit.targetStart && v !== null) {
        logprob += v;
        tokens++;
      }
    });
    if (tokens === 0) {
      throw new RetraceError('STAGE_FAILED', `the scorer returned no token inside the target (${lp.tokens.length} prompt tokens)`, {
        item,
        hint: 'raise search.scorer.contextTokens, or check that the server tokenizes the prompt it echoes',
      });
    }
    return { logprob, tokens, promptTokens: lp.promptTokens, prefixTokensDropped: fit.prefixTokensDropped, targetTokensDropped: fit.targetTokensDropped };
  },
});
