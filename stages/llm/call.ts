/**
 * One agent call through the cache: an `llm` item keyed by its rendered request, counted for
 * the summary. The check (not part of the key) rejects an unusable answer, which the provider
 * re-samples with another seed.
 */
import type { PipelineRun } from '../config.ts';
import type { OfflineContext } from './offline.ts';
import type { AgentRole, AnswerCheck, LlmRequest } from './request.ts';
import type { LlmSession } from './session.ts';
import { llmStage } from './stage.ts';

export async function llmCall(
  run: PipelineRun,
  session: LlmSession,
  role: AgentRole,
  item: string,
  r: { request: LlmRequest; context?: OfflineContext },
  check?: AnswerCheck,
): Promise<string> {
  const res = await run.exec.run(llmStage, { role, item, request: r.request, context: r.context, session, check });
  session.count(role, res.cached, run.exec);
  return res.value.content;
}
