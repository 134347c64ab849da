/**
 * search: one thought's search history, as an item (`retrace show search repo:path`), and the
 * manifest's summary over every step of a build. The record holds the score of the initial
 * thought, of every candidate of every iteration, which one was accepted (only a strictly
 * better score is), and the final thought that replaces the Think text in the document.
 */
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import type { Score } from './score.ts';
import { quantile } from '../render/shape.ts';

export interface ScoredThought {
  chars: number;
  logprob: number;
  tokens: number;
  /** exp(-logprob / tokens) of the code under the scorer. */
  ppl: number;
}

export interface StepRecord {
  /** `repo:path`. */
  item: string;
  /** The document (repository id) the step belongs to. */
  doc: string;
  initial: ScoredThought;
  iterations: Array<{
    iteration: number;
    candidates: ScoredThought[];
    /** Index of the accepted candidate, or null when none beat the current thought. */
    accepted: number | null;
    /** The current thought's score after this iteration. */
    after: ScoredThought;
  }>;
  final: ScoredThought & { thought: string };
  /** Most tokens cut to fit the scorer's context, over this step's scores. */
  truncated: { prefixTokens: number; targetTokens: number };
}

export function scored(thought: string, s: Score): ScoredThought {
  return { chars: thought.length, logprob: s.logprob, tokens: s.tokens, ppl: Math.exp(-s.logprob / s.tokens) };
}

export const searchStage = defineStage<StepRecord, StepRecord>({
  name: 'search',
  version: '1',
  deps: ['llm', 'score'],
  description: "a thought's search: candidates per iteration, their code log-likelihoods, greedy acceptance",
  item: (i) => i.item,
  key: (i) => ({ inputs: { record: hashText(canonicalJson(i)) }, settings: {} }),
  // The history is assembled by optimize.ts from cached calls; this item makes it inspectable.
  run: async (i) => i,
});

export interface SearchSummary {
  steps: number;
  candidatesScored: number;
  accepted: number;
  /** Accepted iterations / (steps × iterations). */
  acceptanceRate: number;
  /**
   * Code perplexity over every step: exp(total negative log-likelihood / total target tokens)
   * of the initial thoughts (before) and the accepted ones (after). Not a mean of per-step
   * perplexities, which one outlier step dominates.
   */
  codePplBefore: number | null;
  codePplAfter: number | null;
  /** Per-step perplexity: median and 90th percentile (nearest rank), before and after. */
  stepPplBefore: { median: number; p90: number } | null;
  stepPplAfter: { median: number; p90: number } | null;
  meanThoughtCharsBefore: number | null;
  meanThoughtCharsAfter: number | null;
  /** Steps whose scored text was cut to fit the scorer's context. */
  truncatedSteps: number;
}

/** exp(total NLL / total tokens) over scored thoughts (null with no token scored). */
export function pooled(scores: Array<Pick<ScoredThought, 'logprob' | 'tokens'>>): number | null {
  const tokens = scores.reduce((n, s) => n + s.tokens, 0);
  return tokens ? Math.exp(-scores.reduce((n, s) => n + s.logprob, 0) / tokens) : null;
}

/** One step's search as lines (`retrace show search repo:path`). */
export function formatStepRecord(r: StepRecord): string {
  const f = (s: ScoredThought): string => `code perplexity ${+s.ppl.toFixed(4)} (${s.tokens} tokens, log-likelihood ${+s.logprob.toFixed(2)}), thought ${s.chars} chars`;
  const out = [`${r.item} (document ${r.doc})`, `  initial: ${f(r.initial)}`];
  for (const it of r.iterations) {
    out.push(`  iteration ${it.iteration}: ${it.accepted === null ? 'none accepted' : `candidate ${it.accepted} accepted`}`);
    it.candidates.forEach((c, k) => out.push(`    candidate ${k}: ${f(c)}`));
  }
  out.push(`  final: ${f(r.final)}`);
  if (r.truncated.prefixTokens || r.truncated.targetTokens) out.push(`  cut to fit the scorer: ${r.truncated.prefixTokens} prefix tokens, ${r.truncated.targetTokens} target tokens`);
  out.push(`  final thought: ${r.final.thought}`);
  return out.join('\n');
}

/** Over records sorted by item: the same steps give the same bytes, whatever order they ran in. */
export function summarize(records: StepRecord[]): SearchSummary {
  const rs = [...records].sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  const mean = (f: (r: StepRecord) => number): number | null => (rs.length ? rs.reduce((s, r) => s + f(r), 0) / rs.length : null);
  const iterations = rs.reduce((n, r) => n + r.iterations.length, 0);
  const accepted = rs.reduce((n, r) => n + r.iterations.filter((it) => it.accepted !== null).length, 0);
  return {
    steps: rs.length,
    candidatesScored: rs.reduce((n, r) => n + r.iterations.reduce((m, it) => m + it.candidates.length, 0), 0),
    accepted,
    acceptanceRate: iterations ? accepted / iterations : 0,
    codePplBefore: pooled(rs.map((r) => r.initial)),
    codePplAfter: pooled(rs.map((r) => r.final)),
    stepPplBefore: rs.length ? { median: quantile(rs.map((r) => r.initial.ppl), 0.5), p90: quantile(rs.map((r) => r.initial.ppl), 0.9) } : null,
    stepPplAfter: rs.length ? { median: quantile(rs.map((r) => r.final.ppl), 0.5), p90: quantile(rs.map((r) => r.final.ppl), 0.9) } : null,
    meanThoughtCharsBefore: mean((r) => r.initial.chars),
    meanThoughtCharsAfter: mean((r) => r.final.chars),
    truncatedSteps: rs.filter((r) => r.truncated.prefixTokens > 0 || r.truncated.targetTokens > 0).length,
  };
}
