/**
 * Plans that scale: the code files (in implementation order) are split into parts, each small
 * enough for one call's prompt and answer, grouped by directory (a directory's files stay
 * together while they fit, directories ordered by their first file in implementation order).
 * Part 1 writes the requirements; the other parts get them and run concurrently. A repository
 * that fits one call is planned in one call, as before.
 */
import type { PipelineRun } from '../config.ts';
import { llmCall } from '../llm/call.ts';
import { parseJsonObject } from '../llm/json.ts';
import type { PlanContext } from '../llm/offline.ts';
import type { LlmSession } from '../llm/session.ts';
import { cleanText, renderBrief, type FileBrief } from './brief.ts';
import { briefCharsPerCall, FILE_ANSWER_TOKENS, planAnswerTokens, planRequest, REQUIREMENTS_ANSWER_TOKENS } from './request.ts';

/** At least this many files per part, whatever the budgets say (a tiny context still makes progress). */
const MIN_FILES_PER_PART = 4;

const dirOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.');

/** Files per part that the answer cap allows (with the requirements in part 1). */
export function filesPerAnswer(session: { settings: Pick<LlmSession['settings'], 'maxTokens' | 'contextTokens'> }): number {
  const cap = session.settings.maxTokens.plan ?? Math.floor(session.settings.contextTokens * 0.35);
  const answerCap = Math.min(cap, Math.floor(session.settings.contextTokens * 0.35));
  return Math.max(MIN_FILES_PER_PART, Math.floor((answerCap - planAnswerTokens(0, true)) / FILE_ANSWER_TOKENS));
}

/** Splits briefs (implementation order) into parts that each fit one plan call. */
export function planParts(session: LlmSession, briefs: FileBrief[]): FileBrief[][] {
  const maxFiles = filesPerAnswer(session);
  const size = (b: FileBrief): number => renderBrief(b).length + 8;
  const fits = (part: FileBrief[], extra: FileBrief[]): boolean => {
    const n = part.length + extra.length;
    if (n <= MIN_FILES_PER_PART) return true;
    if (n > maxFiles) return false;
    const chars = [...part, ...extra].reduce((s, b) => s + size(b), 0);
    return chars <= briefCharsPerCall(session, n, true);
  };
  if (fits([], briefs)) return [briefs];
  // Directories in the order their first file is implemented.
  const groups = new Map<string, FileBrief[]>();
  for (const b of briefs) {
    const d = dirOf(b.path);
    if (!groups.has(d)) groups.set(d, []);
    groups.get(d)!.push(b);
  }
  const parts: FileBrief[][] = [];
  let current: FileBrief[] = [];
  for (const group of groups.values()) {
    if (fits(current, group)) {
      current.push(...group);
      continue;
    }
    if (current.length) parts.push(current);
    current = [];
    for (const b of group) {
      if (!fits(current, [b])) {
        parts.push(current);
        current = [];
      }
      current.push(b);
    }
  }
  if (current.length) parts.push(current);
  // Within a part, the files keep the implementation order.
  const rank = new Map(briefs.map((b, i) => [b.path, i]));
  return parts.map((p) => p.sort((a, b) => rank.get(a.path)! - rank.get(b.path)!));
}

export interface PlanCalls {
  /** The answers, part by part. */
  answers: string[];
  parts: number;
}

/** Runs the plan calls of a repository: one, or part 1 then the others concurrently. */
export async function planCalls(
  run: PipelineRun,
  session: LlmSession,
  docId: string,
  base: Omit<PlanContext, 'files' | 'part' | 'parts' | 'all'>,
  briefs: FileBrief[],
  facts: { tree: string; edges: Array<{ from: string; to: string }>; readme?: string },
): Promise<PlanCalls> {
  const parts = planParts(session, briefs);
  const contextOf = (k: number): PlanContext => ({
    ...base,
    files: parts[k]!,
    ...(parts.length > 1 && { part: k, parts: parts.length }),
    ...(parts.length > 1 && k === 0 && { all: briefs }),
  });
  const edgesOf = (k: number): string[] => {
    const mine = new Set(parts[k]!.map((b) => b.path));
    return [...new Set(facts.edges.filter((e) => e.from !== e.to && (parts.length === 1 || mine.has(e.from) || mine.has(e.to))).map((e) => `${e.from} -> ${e.to}`))];
  };
  const itemOf = (k: number): string => (parts.length === 1 ? docId : `${docId}#plan${k + 1}`);
  const first = await llmCall(run, session, 'plan', itemOf(0), planRequest(session, { context: contextOf(0), tree: facts.tree, edges: edgesOf(0), readme: facts.readme }));
  const requirements = cleanText(parseJsonObject(first)?.requirements, REQUIREMENTS_ANSWER_TOKENS * 4);
  const rest = await Promise.all(
    parts.slice(1).map((_, j) =>
      llmCall(run, session, 'plan', itemOf(j + 1), planRequest(session, { context: contextOf(j + 1), tree: facts.tree, edges: edgesOf(j + 1), readme: facts.readme, requirements })),
    ),
  );
  return { answers: [first, ...rest], parts: parts.length };
}
