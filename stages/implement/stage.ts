/**
 * implement: a sub-agent's answer for one file made trustworthy. Reads are kept only for the
 * file's real, already written dependencies (anything else is dropped and listed), at most
 * MAX_READS of them, each once; missing thoughts fall back to the structural ones. The file
 * contents themselves never come from here: the renderer inserts the repository's bytes.
 */
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import { parseJsonObject } from '../llm/json.ts';
import { cleanText, oneLine } from '../plan/brief.ts';
import { normalizePath } from '../plan/stage.ts';

const MAX_READS = 8;
const MAX_THOUGHT_CHARS = 2_000;
const MAX_REASON_CHARS = 400;

export interface ImplementInput {
  repo: string;
  path: string;
  /** The sub-agent's answer text. */
  answer: string;
  /** Dependencies the file may read, in import order. */
  readable: string[];
  fallback: { think: string; write: string };
}

export interface Steps {
  think: string;
  reads: Array<{ path: string; reason: string }>;
  write: string;
  /** Reads the agent asked for that are not allowed (or beyond MAX_READS). */
  dropped: string[];
}

export const implementStage = defineStage<ImplementInput, Steps>({
  name: 'implement',
  version: '1',
  deps: ['llm', 'plan'],
  description: "a sub-agent's thoughts and reads for one file, checked against the file's real dependencies",
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({
    inputs: { answer: hashText(i.answer), readable: hashText(canonicalJson(i.readable)), fallback: hashText(canonicalJson(i.fallback)) },
    settings: { maxReads: MAX_READS },
  }),
  async run(i) {
    const o = parseJsonObject(i.answer) ?? {};
    const allowed = new Set(i.readable);
    const reads: Steps['reads'] = [];
    const dropped: string[] = [];
    for (const r of Array.isArray(o.reads) ? o.reads : []) {
      const obj: { path?: unknown; reason?: unknown } = typeof r === 'object' && r !== null ? r : { path: r };
      const path = normalizePath(obj.path);
      if (!allowed.has(path) || reads.some((x) => x.path === path) || reads.length >= MAX_READS) {
        if (path) dropped.push(oneLine(path, 200));
        continue;
      }
      reads.push({ path, reason: oneLine(obj.reason, MAX_REASON_CHARS) || `Read ${path} to see what it provides.` });
    }
    return {
      think: cleanText(o.think, MAX_THOUGHT_CHARS) || i.fallback.think,
      reads,
      write: cleanText(o.write, MAX_THOUGHT_CHARS) || i.fallback.write,
      dropped,
    };
  },
});
