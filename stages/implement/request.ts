/**
 * A sub-agent's call for one file: the requirements and plan (so a changed plan re-runs the
 * repository's file calls), what is written so far, the file's brief and the dependencies it may
 * read. Everything is bounded in size.
 */
import { chatRequest, type LlmRequest } from '../llm/request.ts';
import type { ImplementContext } from '../llm/offline.ts';
import { fillTemplate } from '../llm/prompts.ts';
import type { LlmSession } from '../llm/session.ts';
import { boundedJoin, renderBrief } from '../plan/brief.ts';
import type { Plan } from '../plan/stage.ts';

const MAX_REQUIREMENTS_CHARS = 3_000;
const MAX_PLAN_CHARS = 8_000;
/** Of the files written so far, the most recent are listed. */
const MAX_DONE_LISTED = 60;

export function implementRequest(
  session: LlmSession,
  plan: Plan,
  done: string[],
  context: ImplementContext,
): { request: LlmRequest; context?: ImplementContext } {
  const { settings, prompts } = session;
  const b = context.file;
  const purpose = plan.files.find((f) => f.path === b.path)?.purpose;
  const listed = done.slice(-MAX_DONE_LISTED);
  const user = fillTemplate('implement/user.md', prompts['implement/user.md'], {
    requirements: plan.requirements.length > MAX_REQUIREMENTS_CHARS ? plan.requirements.slice(0, MAX_REQUIREMENTS_CHARS) + '…' : plan.requirements,
    plan: boundedJoin(plan.files.map((f, i) => `${i + 1}. ${f.path}: ${f.purpose}`), MAX_PLAN_CHARS),
    doneCount: String(done.length),
    done: listed.length ? (done.length > listed.length ? `… ${done.length - listed.length} earlier files\n` : '') + listed.join('\n') : '(none yet)',
    path: b.path,
    position: String(context.position),
    total: String(context.total),
    brief: renderBrief(b, purpose),
    readable: context.readable.length ? context.readable.map((d) => `- ${d.path}${d.names.length ? ` (${d.names.join(', ')})` : ''}`).join('\n') : '(none)',
  });
  const request = chatRequest(settings, { system: prompts['implement/system.md'], user, maxTokens: settings.maxTokens.implement, schema: 'implement-1' });
  return { request, context: settings.provider === 'offline' ? context : undefined };
}
