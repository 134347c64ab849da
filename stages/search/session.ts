/**
 * One build's search state: the settings, the scorer's network client (made on the first cache
 * miss), the scoring counts the --json summary reports, and the per-step records the manifest
 * summarises. One per PipelineRun, like the LLM session.
 */
import type { LlmClient, PromptLogprobs } from '../../src/llm/client.ts';
import { buildRun } from '../chain-run.ts';
import type { PipelineRun } from '../config.ts';
import { resolveSearchSettings, type SearchSettings } from './settings.ts';
import type { StepRecord } from './record.ts';

export interface ScoringStats {
  provider: string;
  model: string;
  /** Scores asked for (cached or not). */
  calls: number;
  cached: number;
  computed: number;
  /** Network requests, retries included (0 offline). */
  requests: number;
  /** Prompt tokens billed by the scoring endpoint (0 offline). */
  promptTokens: number;
  /** Tokens of the texts scored in this build (cache misses), in the scorer's tokens. */
  scoredTokens: number;
}

export class SearchSession {
  readonly settings: SearchSettings;
  /**
   * The step records of the documents being built, by document: each repository's chain takes
   * its own when it ends (`takeRecords`), so the session holds the repositories in flight, not
   * the corpus (a list of every record, filtered per repository, was O(records x repositories)).
   */
  private readonly records = new Map<string, StepRecord[]>();
  private client: LlmClient | undefined;
  private readonly counts = { calls: 0, cached: 0, computed: 0, scoredTokens: 0 };

  constructor(run: PipelineRun) {
    this.settings = resolveSearchSettings(run.loaded);
  }

  /** A step of document `record.doc` was searched (or answered from the cache). */
  addRecord(record: StepRecord): void {
    const list = this.records.get(record.doc);
    if (list) list.push(record);
    else this.records.set(record.doc, [record]);
  }

  /** The step records of one document, handed over (and forgotten here). */
  takeRecords(doc: string): StepRecord[] {
    const list = this.records.get(doc) ?? [];
    this.records.delete(doc);
    return list;
  }

  /** The prompt's own token log-probabilities from the scoring endpoint. */
  async logprobs(prompt: string, item: string, signal: AbortSignal): Promise<PromptLogprobs> {
    if (!this.client) {
      const { LlmClient } = await import('../../src/llm/client.ts');
      this.client ??= new LlmClient(this.settings.scorer.endpoint!);
    }
    return this.client.promptLogprobs({ prompt }, { item, signal });
  }

  count(cached: boolean, promptTokens: number): void {
    this.counts.calls++;
    if (cached) this.counts.cached++;
    else {
      this.counts.computed++;
      this.counts.scoredTokens += promptTokens;
    }
  }

  stats(): ScoringStats {
    const s = this.client?.stats();
    const { provider, model } = this.settings.scorer;
    return { provider, model, ...this.counts, requests: s?.requests ?? 0, promptTokens: s?.promptTokens ?? 0 };
  }
}

const sessions = new WeakMap<PipelineRun, SearchSession>();

/** The build's session (one per build, whichever repository's chain asks). */
export function searchSessionFor(run: PipelineRun): SearchSession {
  const build = buildRun(run);
  let s = sessions.get(build);
  if (!s) sessions.set(build, (s = new SearchSession(build)));
  return s;
}

/** The session if the run made one (search enabled and at least one step searched). */
export function existingSearchSession(run: PipelineRun): SearchSession | undefined {
  return sessions.get(buildRun(run));
}
