/**
 * implement: a file's loop (loop.ts) turned into the steps the document shows. The first turn's
 * overview is the file's first thought; each Read is preceded by the thought of the turn that
 * chose it, and the Write by the last turn's thought. The loop already checked every turn
 * (reads only of written dependencies the file imports, each once; no copied code); this stage
 * repeats the read check so a cached answer from another version cannot slip a wrong read in,
 * and is a cached item so `status` and `explain` see it. File contents never come from here:
 * the renderer inserts the repository's bytes.
 */
import { hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { defineStage } from '../../src/stage.ts';
import type { Turn } from './loop.ts';

export interface ImplementInput {
  repo: string;
  path: string;
  /** The loop's turns, in order; the last one writes. */
  turns: Turn[];
  /** Dependencies the file may read, in import order. */
  readable: string[];
  /** Used only for thoughts a turn left empty (the loop's check makes that rare). */
  fallback: { think: string; write: string };
}

export interface Steps {
  think: string;
  reads: Array<{ path: string; reason: string }>;
  write: string;
  /** Reads the turns asked for that are not allowed (or repeated). */
  dropped: string[];
}

export const implementStage = defineStage<ImplementInput, Steps>({
  name: 'implement',
  version: '2',
  deps: ['llm', 'plan'],
  description: "a file's Think / Read / Write steps from its sub-agent loop, checked against the file's real dependencies",
  item: (i) => `${i.repo}:${i.path}`,
  key: (i) => ({
    inputs: { turns: hashText(canonicalJson(i.turns)), readable: hashText(canonicalJson(i.readable)), fallback: hashText(canonicalJson(i.fallback)) },
    settings: {},
  }),
  async run(i) {
    const allowed = new Set(i.readable);
    const reads: Steps['reads'] = [];
    const dropped: string[] = [];
    for (const t of i.turns) {
      if (t.action !== 'read') continue;
      if (!t.path || !allowed.has(t.path) || reads.some((r) => r.path === t.path)) {
        if (t.path) dropped.push(t.path);
        continue;
      }
      reads.push({ path: t.path, reason: t.think || `Read ${t.path} to see what it provides.` });
    }
    const last = i.turns[i.turns.length - 1];
    return {
      think: i.turns[0]?.overview || i.fallback.think,
      reads,
      write: (last?.action === 'write' ? last.think : '') || i.fallback.write,
      dropped,
    };
  },
});
