/**
 * Prompt budgets: every request must fit the generator's context (llm.contextTokens), prompt and
 * max_tokens together. Sizes are estimated at CHARS_PER_TOKEN characters per token, below what
 * Llama-3-family tokenizers average on code and English (about 3.5 to 4), so an estimate within
 * the budget is a request within the context. Over its budget, a text is cut to its relevant
 * parts: the head, the lines asked for (definitions, imports), the tail, with markers naming the
 * lines left out.
 */
import { RetraceError } from '../../src/errors.ts';

export const CHARS_PER_TOKEN = 3;
/** Chat-template tokens per message (role headers, end-of-turn), counted generously. */
export const TOKENS_PER_MESSAGE = 16;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export function requestTokens(messages: Array<{ content: string }>): number {
  return messages.reduce((s, m) => s + estimateTokens(m.content) + TOKENS_PER_MESSAGE, 0);
}

/** Characters a budget of `tokens` allows. */
export function charsFor(tokens: number): number {
  return Math.max(0, Math.floor(tokens * CHARS_PER_TOKEN));
}

/** Cuts a one-piece text (requirements, README) at maxChars with a marker. */
export function cutText(text: string, maxChars: number): string {
  return text.length > maxChars ? text.slice(0, Math.max(0, maxChars - 2)).trimEnd() + '\n…' : text;
}

/**
 * A file's content within maxChars: whole when it fits; else its head (half the budget), the
 * wanted lines (1-based; definition and export lines, say) in order while they fit, and its tail,
 * with "[… lines a-b not shown …]" between the pieces.
 */
export function excerptLines(content: string, maxChars: number, wanted: number[] = []): string {
  if (content.length <= maxChars) return content;
  const lines = content.split('\n');
  const keep = new Uint8Array(lines.length);
  let used = 0;
  const take = (i: number): boolean => {
    if (i < 0 || i >= lines.length || keep[i]) return true;
    const cost = lines[i]!.length + 1;
    if (used + cost > maxChars) return false;
    keep[i] = 1;
    used += cost;
    return true;
  };
  const markerReserve = 40 * Math.min(lines.length, 2 + wanted.length);
  const budget = maxChars - markerReserve;
  for (let i = 0; i < lines.length && used + lines[i]!.length + 1 <= budget * 0.5; i++) take(i);
  const tailBudget = budget * 0.15;
  const tail: number[] = [];
  for (let i = lines.length - 1, size = 0; i >= 0 && size + lines[i]!.length + 1 <= tailBudget; i--) {
    tail.push(i);
    size += lines[i]!.length + 1;
  }
  for (const w of [...new Set(wanted)].sort((a, b) => a - b)) if (used + (lines[w - 1]?.length ?? 0) + 1 <= budget - tailBudget) take(w - 1);
  for (const i of tail) take(i);
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    if (keep[i]) {
      out.push(lines[i]!);
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && !keep[j]) j++;
    out.push(j - i === 1 ? `[… line ${i + 1} not shown …]` : `[… lines ${i + 1}-${j} not shown …]`);
    i = j;
  }
  const text = out.join('\n');
  // Very long single lines can still exceed the budget: cut hard, with a marker.
  return text.length > maxChars ? text.slice(0, Math.max(0, maxChars - 30)) + '\n[… cut at the budget …]' : text;
}

/** The tokens left for a prompt's variable parts, or CONFIG_INVALID when the context cannot hold a request. */
export function promptBudget(contextTokens: number, fixedTokens: number, answerTokens: number, what: string): number {
  const left = contextTokens - fixedTokens - answerTokens;
  if (left < 256) {
    throw new RetraceError('CONFIG_INVALID', `llm.contextTokens ${contextTokens} cannot hold the ${what} request (${fixedTokens} tokens of fixed prompt text, ${answerTokens} of answer)`, {
      item: 'config.llm.contextTokens',
      hint: 'raise llm.contextTokens to the model context, or lower llm.maxTurns / llm.maxTokens',
    });
  }
  return left;
}
