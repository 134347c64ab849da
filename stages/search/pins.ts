/**
 * What a build reports about the search: the manifest's `search` section (summary statistics
 * and the settings that produced them: scorer, generator, K, iterations, prompt hashes), and the
 * scoring counts merged into the --json `llm` summary.
 */
import { redactUrl } from '../../src/redact.ts';
import type { PipelineRun } from '../config.ts';
import type { LlmSummary } from '../llm/session.ts';
import type { StageDef } from '../../src/stage.ts';
import { resolveLlmSettings } from '../llm/settings.ts';
import { searchCorpusStage } from './corpus.ts';
import { searchStage, summarize, type StepRecord } from './record.ts';
import type { LoadedConfig } from '../config.ts';
import { searchPromptHashes } from './request.ts';
import { scoreStage } from './score.ts';
import { existingSearchSession } from './session.ts';
import { resolveSearchSettings } from './settings.ts';

/** For the pipeline's `stages` list, in dependency order. */
export function searchStages(): StageDef<any, any>[] {
  return [searchCorpusStage, scoreStage, searchStage];
}

/** This run's search step records of one document (carried by the document's build outcome): taken once, at the end of its chain. */
export function searchRecordsOf(run: PipelineRun, docId: string): StepRecord[] {
  return existingSearchSession(run)?.takeRecords(docId) ?? [];
}

/**
 * The manifest's `search` section over the step records of the documents built (undefined when
 * search is off). It takes records rather than the run so that a version merged from several
 * machines' partitions gets the same section as a single-machine build.
 */
export function searchPins(loaded: LoadedConfig, records: StepRecord[]): Record<string, unknown> | undefined {
  const s = resolveSearchSettings(loaded);
  if (!s.enabled) return undefined;
  const llm = resolveLlmSettings(loaded);
  return {
    ...summarize(records),
    scorer: { provider: s.scorer.provider, model: s.scorer.model, baseURL: s.scorer.endpoint ? redactUrl(s.scorer.endpoint.baseURL) : null, contextTokens: s.scorer.contextTokens },
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
