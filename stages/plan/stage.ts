/**
 * plan: the main agent's answer made trustworthy. The set and order of files come from the facts;
 * the agent only describes them. Paths the agent invents are dropped (and listed), files it
 * leaves out get their purpose from the facts, and missing requirements fall back to the
 * structural ones. Cheap and pure; cached so `status` and `explain` see it as an item.
 */
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import { parseJsonObject } from '../llm/json.ts';
import { cleanText, oneLine } from './brief.ts';

const MAX_REQUIREMENTS_CHARS = 6_000;
const MAX_PURPOSE_CHARS = 600;

export interface PlanInput {
  repo: string;
  /** The main agent's answer texts, one per plan part (the first holds the requirements). */
  answers: string[];
  /** Code files in implementation order, with the purpose the facts give. */
  files: Array<{ path: string; fallback: string }>;
  fallbackRequirements: string;
}

export interface Plan {
  requirements: string;
  files: Array<{ path: string; purpose: string; from: 'agent' | 'facts' }>;
  /** Paths the agent named that are not code files of the repository. */
  dropped: string[];
}

export const normalizePath = (p: unknown): string => (typeof p === 'string' ? p.trim().replace(/^\.\//, '') : '');

export const planStage = defineStage<PlanInput, Plan>({
  name: 'plan',
  version: '2',
  deps: ['llm'],
  description: "the main agent's requirements and file-level plan, checked against the facts",
  item: (i) => i.repo,
  key: (i) => ({
    inputs: { answers: hashText(canonicalJson(i.answers)), files: hashText(canonicalJson(i.files)), fallbackRequirements: hashText(i.fallbackRequirements) },
    settings: {},
  }),
  async run(i) {
    const objects = i.answers.map((a) => parseJsonObject(a) ?? {});
    const o = objects[0] ?? {};
    const known = new Set(i.files.map((f) => f.path));
    const described = new Map<string, string>();
    const dropped: string[] = [];
    const entries: Array<[unknown, unknown]> = objects.flatMap((x) =>
      Array.isArray(x.files)
        ? x.files.map((e: unknown): [unknown, unknown] => (typeof e === 'object' && e !== null ? [(e as { path?: unknown }).path, (e as { purpose?: unknown }).purpose] : [e, undefined]))
        : [],
    );
    for (const [rawPath, rawPurpose] of entries) {
      const path = normalizePath(rawPath);
      if (!known.has(path)) {
        if (path) dropped.push(oneLine(path, 200));
        continue;
      }
      const purpose = oneLine(rawPurpose, MAX_PURPOSE_CHARS);
      if (purpose && !described.has(path)) described.set(path, purpose);
    }
    return {
      requirements: cleanText(o.requirements, MAX_REQUIREMENTS_CHARS) || i.fallbackRequirements,
      files: i.files.map((f) => {
        const purpose = described.get(f.path);
        return purpose ? { path: f.path, purpose, from: 'agent' as const } : { path: f.path, purpose: f.fallback, from: 'facts' as const };
      }),
      dropped,
    };
  },
});
