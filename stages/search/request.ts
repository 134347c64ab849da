/**
 * The generator's call for one candidate thought: the requirements, the file's facts, what was
 * read, and the thought accepted so far (stages/search/prompts). Candidate k of iteration i is
 * its own cached `llm` call: its sample index (and the seed sent) is i·1000 + k, so the calls
 * of iteration 4 never collide with those of iterations 1-3, and one failed candidate never
 * invalidates another. The offline provider gets the facts as its context instead.
 */
import { readFileSync } from 'node:fs';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { chatRequest, type LlmRequest } from '../llm/request.ts';
import { fillTemplate } from '../llm/prompts.ts';
import type { LlmSession } from '../llm/session.ts';
import { renderBrief, type FileBrief } from '../plan/brief.ts';
import type { ThoughtContext } from './offline-thoughts.ts';

const MAX_REQUIREMENTS_CHARS = 3_000;
/** Sample index = iteration · SAMPLE_STRIDE + candidate (config caps candidates at 64). */
export const SAMPLE_STRIDE = 1000;

export interface SearchPrompts {
  system: string;
  user: string;
}

let loaded: SearchPrompts | undefined;

export function searchPrompts(): SearchPrompts {
  loaded ??= {
    system: readFileSync(new URL('./prompts/system.md', import.meta.url), 'utf8'),
    user: readFileSync(new URL('./prompts/user.md', import.meta.url), 'utf8'),
  };
  return loaded;
}

export function searchPromptHashes(): Record<string, ContentHash> {
  const p = searchPrompts();
  return { 'search/system.md': hashText(p.system), 'search/user.md': hashText(p.user) };
}

export interface ThoughtFacts {
  requirements: string;
  purpose?: string;
  brief: FileBrief;
  position: number;
  total: number;
  reads: Array<{ path: string; reason: string }>;
}

export function thoughtRequest(
  session: LlmSession,
  f: ThoughtFacts,
  current: string,
  at: { iteration: number; candidate: number; candidates: number },
): { request: LlmRequest; context?: ThoughtContext } {
  const { settings } = session;
  const prompts = searchPrompts();
  const user = fillTemplate('search/user.md', prompts.user, {
    requirements: f.requirements.length > MAX_REQUIREMENTS_CHARS ? f.requirements.slice(0, MAX_REQUIREMENTS_CHARS) + '…' : f.requirements,
    path: f.brief.path,
    position: String(f.position),
    total: String(f.total),
    brief: renderBrief(f.brief, f.purpose),
    reads: f.reads.length ? f.reads.map((r) => `- ${r.path}: ${r.reason}`).join('\n') : '(nothing)',
    thought: current,
  });
  const sample = at.iteration * SAMPLE_STRIDE + at.candidate;
  const request = chatRequest(settings, {
    system: prompts.system,
    user,
    maxTokens: settings.maxTokens.implement,
    schema: 'thought-1',
    sample,
    // A distinct seed per sample: identical messages must still give K different candidates.
    seed: settings.seed === null ? null : settings.seed + sample,
  });
  const context: ThoughtContext = { kind: 'thought', file: f.brief, current, ...at };
  return { request, context: settings.provider === 'offline' ? context : undefined };
}
