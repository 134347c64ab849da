/**
 * The offline scorer: a cache language model (Kuhn & De Mori, 1990) that needs no weights. It is
 * a deterministic stand-in for a real model's log p(code | thought), not a neural model, and
 * its perplexities are only comparable with each other.
 *
 * Tokens are runs of whitespace, runs of word characters ([A-Za-z0-9_]) and single other
 * characters. Each token t of the target (the code that follows the thought) has the probability
 *
 *   p(t) = 0.2 · p_thought(t) + 0.3 · p_history(t) + 0.5 · p_background(t)
 *
 *   p_thought     word counts of the thought being scored / its word tokens (0 for other tokens);
 *                 with no word in the thought, its weight is spread over the other two parts
 *   p_history     counts of every token before t (prompt and target so far) / their number:
 *                 the copying that makes real models predict an identifier seen earlier
 *   p_background  (count in the repository's other code files + 1 · p_spell(t)) / (their tokens + 1):
 *                 a unigram of the corpus, leave-one-out (the target file's own counts are
 *                 subtracted), with a spelling model for unseen tokens so none has probability 0
 *   p_spell       class (whitespace 0.3, word 0.45, other 0.25) × geometric length × uniform
 *                 characters (4 whitespace, 63 word, 64 other kinds)
 *
 * A floor: no token is less likely than a uniform guess over Llama-3's vocabulary (1/128,256),
 * so one symbol no other file uses cannot send a step's perplexity past 128,256 (it is then
 * max(p, 1/V) per token: an upper bound on surprise, not a normalised distribution).
 *
 * So a thought that names the file's real identifiers and APIs raises the probability of their
 * first occurrences in the code, and one padded with words the code never uses dilutes
 * p_thought and scores worse.
 */

export const LAMBDA = { thought: 0.2, history: 0.3, background: 0.5 } as const;
const DIRICHLET = 1;
/** Llama-3's vocabulary: the floor's uniform guess. */
export const FLOOR_VOCABULARY = 128_256;
const LOG_FLOOR = -Math.log(FLOOR_VOCABULARY);

/** Word counts of the repository's code files (the background unigram). */
export interface UnigramTable {
  tokens: string[];
  counts: number[];
  total: number;
}

export interface OfflineScoreInput {
  prompt: string;
  /** The thought being scored: prompt.slice(thought[0], thought[1]). */
  thought: [number, number];
  /** The target is prompt.slice(targetStart). */
  targetStart: number;
  background: UnigramTable;
}

export interface OfflineScore {
  /** Natural-log likelihood of the target's tokens. */
  logprob: number;
  tokens: number;
  /** Tokens of the whole scored text. */
  promptTokens: number;
}

const TOKEN = /\s+|\w+|[^\w\s]/g;
const WORD = /^\w+$/;

export function lmTokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

export function unigramOf(texts: Iterable<string>): UnigramTable {
  const counts = new Map<string, number>();
  let total = 0;
  for (const text of texts) {
    for (const t of lmTokens(text)) {
      counts.set(t, (counts.get(t) ?? 0) + 1);
      total++;
    }
  }
  // Sorted so equal corpora give equal bytes (the table's hash is part of score keys).
  const tokens = [...counts.keys()].sort();
  return { tokens, counts: tokens.map((t) => counts.get(t)!), total };
}

/** log(e^a + e^b) without underflow. */
function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** log of q(1-q)^(L-1) · (1/kinds)^L: a geometric length times uniform characters. */
function logSpelling(t: string): number {
  if (/^\s/.test(t)) return Math.log(0.3) + geometric(t.length, 0.5) - t.length * Math.log(4);
  if (WORD.test(t)) return Math.log(0.45) + geometric(t.length, 1 / 6) - t.length * Math.log(63);
  return Math.log(0.25) - Math.log(t.charCodeAt(0) < 128 ? 64 : 65536);
}

function geometric(length: number, q: number): number {
  return Math.log(q) + (length - 1) * Math.log(1 - q);
}

export function scoreOffline(input: OfflineScoreInput): OfflineScore {
  const { prompt, thought, targetStart } = input;
  const target = lmTokens(prompt.slice(targetStart));
  const bg = new Map<string, number>();
  input.background.tokens.forEach((t, i) => bg.set(t, input.background.counts[i]!));
  let bgTotal = input.background.total;
  for (const t of target) {
    const c = bg.get(t);
    if (c === undefined) continue;
    const left = Math.max(0, c - 1);
    bg.set(t, left);
    bgTotal -= c - left;
  }

  const thoughtWords = new Map<string, number>();
  let thoughtTotal = 0;
  for (const t of lmTokens(prompt.slice(thought[0], thought[1]))) {
    if (!WORD.test(t)) continue;
    thoughtWords.set(t, (thoughtWords.get(t) ?? 0) + 1);
    thoughtTotal++;
  }
  const history = new Map<string, number>();
  let historyTotal = 0;
  for (const t of lmTokens(prompt.slice(0, targetStart))) {
    history.set(t, (history.get(t) ?? 0) + 1);
    historyTotal++;
  }

  // Without a word in the thought, its weight goes to the other parts in proportion.
  const rest = thoughtTotal > 0 ? 1 : 1 / (1 - LAMBDA.thought);
  const logLambda = {
    thought: Math.log(LAMBDA.thought),
    history: Math.log(LAMBDA.history * rest),
    background: Math.log(LAMBDA.background * rest),
  };
  const logBgDenominator = Math.log(bgTotal + DIRICHLET);
  let logprob = 0;
  for (const t of target) {
    const inBg = bg.get(t) ?? 0;
    let lp = logLambda.background + logAdd(inBg > 0 ? Math.log(inBg) : -Infinity, Math.log(DIRICHLET) + logSpelling(t)) - logBgDenominator;
    const inHistory = history.get(t) ?? 0;
    if (inHistory > 0) lp = logAdd(lp, logLambda.history + Math.log(inHistory / historyTotal));
    const inThought = thoughtWords.get(t) ?? 0;
    if (inThought > 0) lp = logAdd(lp, logLambda.thought + Math.log(inThought / thoughtTotal));
    logprob += Math.max(lp, LOG_FLOOR);
    history.set(t, inHistory + 1);
    historyTotal++;
  }
  return { logprob, tokens: target.length, promptTokens: historyTotal };
}
