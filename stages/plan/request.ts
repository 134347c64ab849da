/**
 * The main agent's calls: repository facts rendered into the plan prompt files. A repository
 * whose briefs do not fit one call (its context, or the answer's max_tokens) is planned in parts
 * (parts.ts): part 1 writes the requirements and its files' purposes, each later part gets those
 * requirements and describes its own files. Every call is bounded: tree, edges, README and briefs
 * each get a share of the prompt budget, and max_tokens is what the part's answer needs.
 */
import { chatRequest, type LlmRequest } from '../llm/request.ts';
import type { PlanContext } from '../llm/offline.ts';
import { fillTemplate } from '../llm/prompts.ts';
import type { LlmSession } from '../llm/session.ts';
import { charsFor, cutText, estimateTokens, promptBudget, TOKENS_PER_MESSAGE } from '../llm/budget.ts';
import { boundedJoin, oneLine, renderBrief } from './brief.ts';

/** Expected answer size: the requirements, and one or two sentences per file (JSON included). */
export const REQUIREMENTS_ANSWER_TOKENS = 800;
export const FILE_ANSWER_TOKENS = 90;
const ANSWER_OVERHEAD_TOKENS = 64;
/** Of the prompt budget: briefs, tree, edges, README, given requirements. */
const SHARE = { files: 0.5, tree: 0.15, edges: 0.1, readme: 0.1, requirements: 0.15 };

export interface PlanFacts {
  /** The part's context: its files, and (part 0 of several) every file. */
  context: PlanContext;
  /** Indented file tree. */
  tree: string;
  /** "importer -> imported" lines touching the part's files. */
  edges: string[];
  readme?: string;
  /** Requirements written by part 1, for the later parts. */
  requirements?: string;
}

/** max_tokens of a plan call describing `files` files (with the requirements when first). */
export function planAnswerTokens(files: number, withRequirements: boolean): number {
  return ANSWER_OVERHEAD_TOKENS + (withRequirements ? REQUIREMENTS_ANSWER_TOKENS : 0) + files * FILE_ANSWER_TOKENS;
}

/** Characters of briefs one plan call may show, given the context and the answer it needs. */
export function briefCharsPerCall(session: LlmSession, files: number, withRequirements: boolean): number {
  const fixed = estimateTokens(session.prompts['plan/system.md']) + estimateTokens(session.prompts['plan/user.md']) + 2 * TOKENS_PER_MESSAGE;
  return charsFor(promptBudget(session.settings.contextTokens, fixed, planAnswerTokens(files, withRequirements), 'plan') * SHARE.files);
}

export function planRequest(session: LlmSession, f: PlanFacts): { request: LlmRequest; context?: PlanContext } {
  const { settings, prompts } = session;
  const c = f.context;
  const part = c.part ?? 0;
  const parts = c.parts ?? 1;
  const answerTokens = planAnswerTokens(c.files.length, part === 0);
  const fixed = estimateTokens(prompts['plan/system.md']) + estimateTokens(prompts['plan/user.md']) + 2 * TOKENS_PER_MESSAGE;
  const budget = charsFor(promptBudget(settings.contextTokens, fixed, answerTokens, 'plan'));
  const external = [...new Set((c.all ?? c.files).flatMap((b) => b.external))].sort();
  const user = fillTemplate('plan/user.md', prompts['plan/user.md'], {
    repo: c.repo,
    package: c.name || c.description ? `Package: ${c.name ?? c.repo}${c.description ? ` — ${oneLine(c.description, 300)}` : ''}` : '',
    tree: cutText(f.tree, budget * SHARE.tree),
    files: boundedJoin(c.files.map((b, i) => `${i + 1}. ${renderBrief(b)}`), budget * SHARE.files),
    edges: f.edges.length ? boundedJoin(f.edges, budget * SHARE.edges) : '(none)',
    external: external.length ? cutText(external.join(', '), 600) : '(none)',
    readme: f.readme ? cutText(f.readme.replace(/\r\n?/g, '\n').replace(/<\|/g, '<').trim(), budget * SHARE.readme) : '(none)',
    part:
      parts === 1
        ? ''
        : part === 0
          ? `This plan is written in ${parts} parts. This is part 1: write the requirements of the whole project, and the plan of the ${c.files.length} files listed above only.`
          : `This plan is written in ${parts} parts. This is part ${part + 1}: the requirements are already written (below). Write the plan of the ${c.files.length} files listed above only, with "requirements" left out.\n\nRequirements:\n${cutText(f.requirements ?? '', budget * SHARE.requirements)}`,
  });
  const maxTokens = settings.maxTokens.plan === null ? null : Math.min(settings.maxTokens.plan, answerTokens);
  const request = chatRequest(settings, { system: prompts['plan/system.md'], user, maxTokens, schema: 'plan-1' });
  return { request, context: settings.provider === 'offline' ? c : undefined };
}
