/**
 * Turning a response body into an answer, or saying why it is unusable. The SDK hands back
 * whatever JSON (or text) the server sent, so nothing about its shape is trusted.
 */
import { RetraceError } from '../errors.ts';
import { BadAnswer } from './failures.ts';
import type { ChatAnswer, PromptLogprobs } from './types.ts';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** Tokens are paid for even when the answer is then rejected, so usage is read on its own. */
export function usageOf(raw: unknown): Usage {
  const u = isObject(raw) && isObject(raw.usage) ? raw.usage : {};
  return { promptTokens: count(u.prompt_tokens), completionTokens: count(u.completion_tokens) };
}

export function parseChat(raw: unknown, expectedChoices: number, fallbackModel: string): ChatAnswer {
  const choices = choicesOf(raw);
  const sorted = [...choices].sort((a, b) => count(a.index) - count(b.index));
  const contents = sorted.map((c) => (isObject(c.message) ? c.message.content : undefined));
  if (contents.some((c) => c !== null && c !== undefined && typeof c !== 'string')) {
    throw new BadAnswer('malformed', 'a choice has non-text content');
  }
  if (contents.some((c) => typeof c !== 'string' || c.trim() === '')) throw new BadAnswer('empty', 'a choice has empty content');
  if (sorted.length < expectedChoices) {
    throw new BadAnswer('malformed', `asked for ${expectedChoices} choices, got ${sorted.length}`);
  }
  const first = sorted[0]!;
  const { promptTokens, completionTokens } = usageOf(raw);
  return {
    content: contents[0] as string,
    finishReason: typeof first.finish_reason === 'string' ? first.finish_reason : 'unknown',
    choices: contents as string[],
    promptTokens,
    completionTokens,
    model: isObject(raw) && typeof raw.model === 'string' ? raw.model : fallbackModel,
  };
}

/**
 * The prompt part of an echo:true completion. The number of prompt tokens comes from `usage`
 * when the server reports it (robust to a BOS token whose text shifts the offsets); otherwise from
 * the offsets, which count code points (Python string indices) and are converted to JS indices.
 */
export function parsePromptLogprobs(raw: unknown, prompt: string, ctx: { item?: string; baseURL: string }): PromptLogprobs {
  const choice = choicesOf(raw)[0]!;
  const lp = choice.logprobs;
  const noPromptLogprobs = (what: string) =>
    new RetraceError('SCORER_NO_PROMPT_LOGPROBS', `the server at ${ctx.baseURL} ${what}`, {
      item: ctx.item,
      hint: 'scoring needs a logprob for every prompt token (echo: true); serve the model with vLLM or another server that returns prompt logprobs (llama.cpp does not)',
    });
  if (lp === null || lp === undefined) throw noPromptLogprobs('returned no logprobs at all');
  if (!isObject(lp)) throw new BadAnswer('malformed', 'logprobs is not an object');
  const { tokens, token_logprobs: logprobs, text_offset: offsets } = lp;
  if (!Array.isArray(tokens) || !Array.isArray(logprobs) || !Array.isArray(offsets)) {
    throw new BadAnswer('malformed', 'logprobs lacks tokens, token_logprobs or text_offset');
  }
  if (tokens.length !== logprobs.length || tokens.length !== offsets.length) {
    throw new BadAnswer('malformed', 'logprobs arrays differ in length');
  }
  const toJs = codePointToUtf16(prompt);
  const reported = usageOf(raw).promptTokens;
  const promptCount = reported > 0 ? reported : offsets.filter((o) => typeof o === 'number' && o < toJs.length).length;
  if (promptCount === 0 || tokens.length < promptCount) {
    throw noPromptLogprobs(`returned ${tokens.length} logprob entries for a ${reported || '?'}-token prompt (generated tokens only?)`);
  }
  const out: PromptLogprobs = { tokens: [], tokenLogprobs: [], textOffset: [], promptTokens: promptCount };
  for (let i = 0; i < promptCount; i++) {
    const value = logprobs[i];
    // Only the first token may lack a logprob: nothing precedes it.
    if (i > 0 && typeof value !== 'number') throw noPromptLogprobs(`returned no logprob for prompt token ${i}`);
    if (typeof tokens[i] !== 'string' || typeof offsets[i] !== 'number') {
      throw new BadAnswer('malformed', `logprob entry ${i} has the wrong types`);
    }
    out.tokens.push(tokens[i]);
    out.tokenLogprobs.push(typeof value === 'number' ? value : null);
    out.textOffset.push(toJs.at(offsets[i]));
  }
  return out;
}

/** Maps a code-point index to a UTF-16 index; identity unless the text has astral characters. */
function codePointToUtf16(text: string): { length: number; at(cp: number): number } {
  if (!/[\uD800-\uDFFF]/.test(text)) return { length: text.length, at: (cp) => Math.min(cp, text.length) };
  const starts: number[] = [];
  let i = 0;
  for (const ch of text) {
    starts.push(i);
    i += ch.length;
  }
  return { length: starts.length, at: (cp) => (cp < starts.length ? starts[cp]! : text.length) };
}

function choicesOf(raw: unknown): Array<Record<string, any>> {
  if (!isObject(raw)) throw new BadAnswer('malformed', `body is ${typeof raw === 'string' ? 'text, not JSON' : typeof raw}`);
  if (!Array.isArray(raw.choices)) throw new BadAnswer('malformed', 'body has no choices array');
  if (raw.choices.length === 0) throw new BadAnswer('empty', 'no choices');
  if (!raw.choices.every(isObject)) throw new BadAnswer('malformed', 'a choice is not an object');
  return raw.choices;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}
