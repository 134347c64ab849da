/**
 * What a build reports about the search: the manifest's `search` section (summary statistics
 * and the settings that produced them: scorer, generator, K, iterations, prompt hashes), and the
 * scoring counts merged into the --json `llm` summary.
 */
import type { LlmSummary, PipelineRun } from '../../src/pipeline.ts';
import type { StageDef } from '../../src/stage.ts';
import { resolveLlmSettings } from '../llm/settings.ts';
import { searchCorpusStage } from './corpus.ts';
import { searchStage, summarize } from './record.ts';
import { searchPromptHashes } from './request.ts';
import { scoreStage } from './score.ts';
import { existingSearchSession } from './session.ts';
import { resolveSearchSettings } from './settings.ts';

/** For the pipeline's `stages` list, in dependency order. */
export function searchStages(): StageDef<any, any>[] {
  return [searchCorpusStage, scoreStage, searchStage];
}

/** The manifest's `search` section, over the steps of the documents built; undefined when search is off. */
export function searchPins(run: PipelineRun, documents: string[]): Record<string, unknown> | undefined {
  const s = resolveSearchSettings(run.loaded);
  if (!s.enabled) return undefined;
  const built = new Set(documents);
  const records = (existingSearchSession(run)?.records ?? []).filter((r) => built.has(r.doc));
  const llm = resolveLlmSettings(run.loaded);
  return {
    ...summarize(records),
    scorer: { provider: s.scorer.provider, model: s.scorer.model, baseURL: s.scorer.endpoint?.baseURL ?? null, contextTokens: s.scorer.contextTokens },
    generator: { provider: llm.provider, model: llm.model },
    K: s.candidates,
    iterations: s.iterations,
    prompts: searchPromptHashes(),
  };
}

/** The run's LLM summary with the scorer's requests and tokens added, and its counts under `scorer`. */
export function withSearchStats(run: PipelineRun, summary: LlmSummary): LlmSummary {
  const session = existingSearchSession(run);
  if (!session?.settings.enabled) return summary;
  const scorer = session.stats();
  return { ...summary, requests: summary.requests + scorer.requests, promptTokens: summary.promptTokens + scorer.promptTokens, scorer };
}
