/**
 * The search over one repository's thoughts (the paper's search-based CoT optimization), for
 * the Think step right before each code file's Write, or (search.steps 'all') every Think of the
 * file's loop, each scored by the likelihood of the file's code that follows it. Per step:
 *
 *   score the current thought; then for each iteration i = 1..N:
 *     ask the generator for K alternative thoughts given the trajectory so far and the current
 *     thought (K cached `llm` calls), score each (K cached `score` items), and replace the
 *     current thought by the best candidate only if its log p(code | prefix + thought) is
 *     strictly higher.
 *
 * Iteration i's calls depend on the thought accepted after iteration i-1, so the cache keys
 * chain: raising N from 3 to 4 answers iterations 1-3 from the cache and sends only the 4th's
 * calls; a rebuild sends none. Steps are independent (prefix.ts) and run concurrently.
 */
import type { LineRange } from '../render/observe.ts';
import type { ContentHash } from '../../src/hash.ts';
import type { PipelineRun } from '../config.ts';
import { parseJsonObject } from '../llm/json.ts';
import { sessionFor } from '../llm/session.ts';
import { llmStage } from '../llm/stage.ts';
import { cleanText, type FileBrief } from '../plan/brief.ts';
import type { Plan } from '../plan/stage.ts';
import { searchCorpusStage } from './corpus.ts';
import type { UnigramTable } from './offline-lm.ts';
import { scoredText, slotText } from './prefix.ts';
import { scored, searchStage, type StepRecord } from './record.ts';
import { thoughtRequest } from './request.ts';
import { scoreStage, type Score } from './score.ts';
import { searchSessionFor } from './session.ts';

/** Candidates grow by appending; the cap keeps a runaway generator's thought bounded. */
const MAX_THOUGHT_CHARS = 4_000;

export interface SearchRepo {
  docId: string;
  repo: string;
  plan: Plan;
  /** The repository's code files (the offline scorer's background corpus). */
  codeFiles: Array<{ path: string; hash: ContentHash }>;
}

export interface SearchStep {
  path: string;
  hash: ContentHash;
  position: number;
  total: number;
  brief: FileBrief;
  /** The file's first thought and its reads, as rendered before the searched thought. */
  think: string;
  reads: Array<{ path: string; hash: ContentHash; reason: string; ranges?: LineRange[] }>;
  /** The thought before the Write: the one searched. */
  write: string;
}

export interface SearchedThoughts {
  think: string;
  reads: SearchStep['reads'];
  write: string;
}

export interface RepoSearch {
  /** The thought to render before the file's Write: the accepted one, or `step.write` when search is off. */
  optimize(step: SearchStep): Promise<string>;
  /**
   * The file's thoughts after the search: with search.steps 'all', every Think of the loop
   * (the first, each one before a Read, the one before the Write) is searched, each
   * independently (the others keep the loop's text while it is scored); with 'write', only the
   * last. Unchanged when search is off.
   */
  optimizeSteps(step: SearchStep): Promise<SearchedThoughts>;
}

const decoder = new TextDecoder();

export function repoSearch(run: PipelineRun, repo: SearchRepo): RepoSearch {
  const session = searchSessionFor(run);
  const { settings } = session;
  if (!settings.enabled) return { optimize: async (step) => step.write, optimizeSteps: async (step) => ({ think: step.think, reads: step.reads, write: step.write }) };
  const llm = sessionFor(run);
  let background: Promise<{ hash: ContentHash; table: UnigramTable }> | undefined;
  const backgroundOf = () =>
    (background ??= run.exec.run(searchCorpusStage, { repo: repo.docId, files: repo.codeFiles }).then((r) => ({ hash: r.hash, table: r.value })));

  /** Searches thought `slot` of a step (0: first, 1..R: before Read r, R + 1: before the Write). */
  const searchSlot = async (step: SearchStep, slot: number): Promise<string> => {
    const original = [step.think, ...step.reads.map((r) => r.reason), step.write];
    const target = decoder.decode(await run.blobs.get(step.hash));
    if (target.length === 0) return original[slot]!; // no code to score
    const reads = await Promise.all(step.reads.map(async (r) => ({ ...r, content: decoder.decode(await run.blobs.get(r.hash)) })));
    const text = slotText({ repo: repo.repo, plan: repo.plan, position: step.position, total: step.total, path: step.path, think: step.think, reads, target, write: step.write }, slot);
    const bg = settings.scorer.provider === 'offline' ? await backgroundOf() : undefined;
    const last = slot === original.length - 1;
    // The thought before the Write keeps the item names it always had; the others are `~slot`.
    const id = `${repo.docId}:${step.path}${last ? '' : `~${slot}`}`;
    const truncated = { prefixTokens: 0, targetTokens: 0 };
    const score = async (thought: string, tag: string): Promise<Score> => {
      const r = await run.exec.run(scoreStage, { item: `${id}#${tag}`, text: scoredText(text, thought), background: bg, session });
      session.count(r.cached, r.value.promptTokens);
      truncated.prefixTokens = Math.max(truncated.prefixTokens, r.value.prefixTokensDropped);
      truncated.targetTokens = Math.max(truncated.targetTokens, r.value.targetTokensDropped);
      return r.value;
    };
    const facts = {
      requirements: repo.plan.requirements,
      purpose: repo.plan.files.find((f) => f.path === step.path)?.purpose,
      brief: step.brief,
      position: step.position,
      total: step.total,
      reads: step.reads,
    };
    const generate = async (current: string, iteration: number, candidate: number): Promise<string> => {
      const r = thoughtRequest(llm, facts, current, { iteration, candidate, candidates: settings.candidates });
      const res = await run.exec.run(llmStage, { role: 'search', item: `${id}@think`, request: r.request, context: r.context, session: llm });
      llm.count('search', res.cached, run.exec);
      return cleanText(parseJsonObject(res.value.content)?.think, MAX_THOUGHT_CHARS) || current;
    };

    let current = original[slot]!;
    let currentScore = await score(current, '0');
    const initial = scored(current, currentScore);
    const iterations: StepRecord['iterations'] = [];
    for (let i = 1; i <= settings.iterations; i++) {
      const thoughts = await Promise.all(Array.from({ length: settings.candidates }, (_, k) => generate(current, i, k)));
      const scores = await Promise.all(thoughts.map((t, k) => score(t, `${i}.${k}`)));
      let accepted: number | null = null;
      scores.forEach((s, k) => {
        if (s.logprob > (accepted === null ? currentScore.logprob : scores[accepted]!.logprob)) accepted = k;
      });
      if (accepted !== null) {
        current = thoughts[accepted]!;
        currentScore = scores[accepted]!;
      }
      iterations.push({ iteration: i, candidates: thoughts.map((t, k) => scored(t, scores[k]!)), accepted, after: scored(current, currentScore) });
    }
    const record: StepRecord = { item: id, doc: repo.docId, initial, iterations, final: { ...scored(current, currentScore), thought: current }, truncated };
    const saved = (await run.exec.run(searchStage, record)).value;
    session.addRecord(saved);
    return saved.final.thought;
  };
  return {
    optimize: (step) => searchSlot(step, step.reads.length + 1),
    async optimizeSteps(step) {
      const last = step.reads.length + 1;
      const slots = settings.steps === 'all' ? Array.from({ length: last + 1 }, (_, j) => j) : [last];
      const found = await Promise.all(slots.map((j) => searchSlot(step, j)));
      const at = (j: number, original: string): string => (slots.includes(j) ? found[slots.indexOf(j)]! : original);
      return { think: at(0, step.think), reads: step.reads.map((r, k) => ({ ...r, reason: at(k + 1, r.reason) })), write: at(last, step.write) };
    },
  };
}
