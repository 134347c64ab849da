/**
 * The main agent's call: repository facts rendered into the plan prompt files. What the agent
 * sees is bounded (tree, per-file briefs, edges, README excerpt), whatever the repository's size.
 */
import { chatRequest, type LlmRequest } from '../llm/request.ts';
import type { PlanContext } from '../llm/offline.ts';
import { fillTemplate } from '../llm/prompts.ts';
import type { LlmSession } from '../llm/session.ts';
import { boundedJoin, oneLine, renderBrief } from './brief.ts';

const MAX_FILES_CHARS = 16_000;
const MAX_EDGE_CHARS = 6_000;
const MAX_README_CHARS = 3_000;

export interface PlanFacts {
  context: PlanContext;
  /** Indented file tree (bounded). */
  tree: string;
  /** "importer -> imported" lines. */
  edges: string[];
  readme?: string;
}

export function planRequest(session: LlmSession, f: PlanFacts): { request: LlmRequest; context?: PlanContext } {
  const { settings, prompts } = session;
  const c = f.context;
  const external = [...new Set(c.files.flatMap((b) => b.external))].sort();
  const user = fillTemplate('plan/user.md', prompts['plan/user.md'], {
    repo: c.repo,
    package: c.name || c.description ? `Package: ${c.name ?? c.repo}${c.description ? ` — ${oneLine(c.description, 300)}` : ''}` : '',
    tree: f.tree,
    files: boundedJoin(c.files.map((b, i) => `${i + 1}. ${renderBrief(b)}`), MAX_FILES_CHARS),
    edges: f.edges.length ? boundedJoin(f.edges, MAX_EDGE_CHARS) : '(none)',
    external: external.length ? external.join(', ') : '(none)',
    readme: f.readme ? excerpt(f.readme, MAX_README_CHARS) : '(none)',
  });
  const request = chatRequest(settings, { system: prompts['plan/system.md'], user, maxTokens: settings.maxTokens.plan, schema: 'plan-1' });
  return { request, context: settings.provider === 'offline' ? c : undefined };
}

function excerpt(text: string, max: number): string {
  const t = text.replace(/\r\n?/g, '\n').replace(/<\|/g, '<').trim();
  return t.length > max ? t.slice(0, max) + '\n…' : t;
}
