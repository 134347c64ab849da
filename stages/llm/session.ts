/**
 * One build's LLM state: the provider, the prompts, the token budget and the counts the summary
 * reports (network requests vs answers reused from the cache, tokens, per agent). One session
 * per PipelineRun, made on first use, so concurrent or successive builds in one process never
 * share counters.
 */
import { RetraceError } from '../../src/errors.ts';
import type { Executor } from '../../src/executor.ts';
import { buildRun } from '../chain-run.ts';
import type { PipelineRun } from '../config.ts';
import { loadPrompts, type PromptSet } from './prompts.ts';
import { offlineProvider, openaiProvider, type Provider } from './providers.ts';
import type { OfflineContext } from './offline.ts';
import type { AgentRole, AnswerCheck, LlmAnswer, LlmRequest } from './request.ts';
import { resolveLlmSettings, type LlmSettings } from './settings.ts';

/** The `llm` field of every build summary (--json): network requests, cached answers, tokens. */
export interface LlmSummary {
  /** Requests sent over the network (retries included). */
  requests: number;
  /** Answers reused from the cache. */
  cached: number;
  promptTokens: number;
  completionTokens: number;
  [k: string]: unknown;
}

export interface AgentStats {
  /** Calls made (cached or not). */
  calls: number;
  /** Answered from the cache (or by an identical call in flight). */
  cached: number;
  /** Answered by the provider in this build. */
  computed: number;
  /** Network requests, retries included (0 offline). */
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

const emptyStats = (): AgentStats => ({ calls: 0, cached: 0, computed: 0, requests: 0, promptTokens: 0, completionTokens: 0 });

export class LlmSession {
  readonly settings: LlmSettings;
  readonly prompts: PromptSet;
  readonly provider: Provider;
  private readonly run: PipelineRun;
  /**
   * The role of each call being answered by the provider now (for its request count): removed
   * when the call ends, so the map holds the calls in flight, not one entry per call of the build
   * (issue 17: ~70k entries at 437 packages).
   */
  private readonly roleOfItem = new Map<string, { role: AgentRole; calls: number }>();
  private readonly agents: Record<AgentRole, AgentStats> = { plan: emptyStats(), implement: emptyStats(), search: emptyStats() };

  constructor(run: PipelineRun) {
    this.run = run;
    this.settings = resolveLlmSettings(run.loaded);
    this.prompts = loadPrompts(this.settings.promptsDir);
    this.provider =
      this.settings.provider === 'openai'
        ? openaiProvider(this.settings.endpoint!, (item) => {
            const role = item === undefined ? undefined : this.roleOfItem.get(item)?.role;
            if (role) this.agents[role].requests++;
          })
        : offlineProvider(this.settings.model);
  }

  /** Called by the llm stage on a cache miss. */
  async complete(role: AgentRole, item: string, req: LlmRequest, context: OfflineContext | undefined, signal: AbortSignal, check?: AnswerCheck): Promise<LlmAnswer> {
    const inFlight = this.roleOfItem.get(item);
    if (inFlight) inFlight.calls++;
    else this.roleOfItem.set(item, { role, calls: 1 });
    try {
      const answer = await this.provider.complete(req, context, { item, signal, check });
      this.agents[role].promptTokens += answer.promptTokens;
      this.agents[role].completionTokens += answer.completionTokens;
      if (answer.promptTokens + answer.completionTokens > 0) this.run.reporter.emit({ type: 'llm-usage', promptTokens: answer.promptTokens, completionTokens: answer.completionTokens });
      return answer;
    } finally {
      const entry = this.roleOfItem.get(item);
      if (entry && --entry.calls === 0) this.roleOfItem.delete(item);
      this.checkBudget();
    }
  }

  /**
   * Called for every call, once the executor has answered it: `exec` is the one the call ran
   * through, so a repository's memo (source-memo.ts) keeps the count and replays it on a hit.
   */
  count(role: AgentRole, cached: boolean, exec: Executor): void {
    exec.tally(`${TALLY}${role}`);
    const a = this.agents[role];
    a.calls++;
    if (cached) a.cached++;
    else a.computed++;
  }

  /** Stops the build cleanly once the budget is spent; finished calls stay cached. */
  private checkBudget(): void {
    const budget = this.settings.tokenBudget;
    if (budget === undefined || this.run.signal.aborted) return;
    const u = this.provider.usage();
    const spent = u.promptTokens + u.completionTokens;
    if (spent >= budget) this.run.abort(new RetraceError('LLM_BUDGET_EXHAUSTED', `LLM token budget reached: ${spent} tokens spent, llm.tokenBudget is ${budget}`, { hint: 'raise llm.tokenBudget and build again: answered calls stay cached' }));
  }

  summary(): LlmSummary {
    const u = this.provider.usage();
    const { plan, implement, search } = this.agents;
    return {
      requests: u.requests,
      cached: plan.cached + implement.cached + search.cached,
      promptTokens: u.promptTokens,
      completionTokens: u.completionTokens,
      provider: this.settings.provider,
      model: this.settings.model,
      calls: plan.calls + implement.calls + search.calls,
      retries: u.retries,
      failed: u.failed,
      plan: { ...plan },
      implement: { ...implement },
      search: { ...search },
    };
  }
}

/** The executor tally of calls by agent: `llm:<role>`. */
const TALLY = 'llm:';

const sessions = new WeakMap<PipelineRun, LlmSession>();

/** A repository answered by its memo: its LLM calls, counted as answered from the cache. */
export function replayLlmTallies(run: PipelineRun, tallies: Record<string, number>): void {
  for (const [name, n] of Object.entries(tallies)) {
    if (!name.startsWith(TALLY)) continue;
    const role = name.slice(TALLY.length) as AgentRole;
    const session = sessionFor(run);
    for (let k = 0; k < n; k++) session.count(role, true, run.exec);
  }
}

/** The build's session (one per build, whichever repository's chain asks). */
export function sessionFor(run: PipelineRun): LlmSession {
  const build = buildRun(run);
  let s = sessions.get(build);
  if (!s) sessions.set(build, (s = new LlmSession(build)));
  return s;
}

/** The summary of a run; zeros when it made no LLM call. */
export function summaryOf(run: PipelineRun): LlmSummary {
  return sessions.get(buildRun(run))?.summary() ?? { requests: 0, cached: 0, promptTokens: 0, completionTokens: 0 };
}
