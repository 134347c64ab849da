/**
 * The text a thought is scored in: what the trajectory document holds from its start through
 * the file's own section, with the other files' sections left out (so each Read shows what it
 * shows when its file is not yet in the document: whole, or the used line ranges), then the thought,
 * the Write action and the file's real content (the target):
 *
 *   <header: requirements, plan>  ### k/n path / Think / Read + Observation ... / Think: <THOUGHT>
 *   \nAction: Write path\n<TARGET>
 *
 * Leaving the other files out keeps each step's scores independent of every other step's
 * search, so the steps of a repository are searched concurrently and a thought accepted in one
 * file never invalidates another file's cached scores.
 */
import { readPieces, trajectoryHeader } from '../render/trajectory.ts';
import { OBSERVATION_BUDGET_BYTES, type LineRange } from '../render/observe.ts';
import type { Plan } from '../plan/stage.ts';

export interface StepText {
  /** Everything before the thought, ending with "Think: ". */
  before: string;
  /** Between the thought and the target. */
  after: string;
  target: string;
}

export interface ScoredText {
  prompt: string;
  /** [start, end) of the thought in the prompt. */
  thought: [number, number];
  /** The target is prompt.slice(targetStart). */
  targetStart: number;
}

export function stepText(s: {
  repo: string;
  plan: Plan;
  position: number;
  total: number;
  path: string;
  think: string;
  /** Ranges: the definitions the file uses (render/observe.ts); the Reads are shown as in a document where nothing is shown yet. */
  reads: Array<{ path: string; reason: string; content: string; ranges?: LineRange[] }>;
  target: string;
}): StepText {
  const reads = s.reads
    .flatMap((r) => readPieces({ ...r, ranges: r.ranges ?? [] }, r.content, new Set(), OBSERVATION_BUDGET_BYTES))
    .map((p) => p.text)
    .join('');
  return {
    before: `${trajectoryHeader(s.repo, s.plan)}\n### ${s.position}/${s.total} ${s.path}\nThink: ${s.think}\n${reads}Think: `,
    after: `\nAction: Write ${s.path}\n`,
    target: s.target,
  };
}

/**
 * The text a thought of any step is scored in (search.steps 'all'): the file's section up to the
 * Think of `slot` (0: the first thought, 1..R: the thought before Read r, R + 1: the one before
 * the Write), the thought, then the rest of the section as the loop wrote it, the Write action and
 * the target. The other thoughts keep the loop's text, so the slots' searches are independent.
 * Slot R + 1 gives exactly stepText's text.
 */
export function slotText(
  s: Parameters<typeof stepText>[0] & { write: string },
  slot: number,
): StepText {
  const head = `${trajectoryHeader(s.repo, s.plan)}\n### ${s.position}/${s.total} ${s.path}\nThink: `;
  const thoughts = [s.think, ...s.reads.map((r) => r.reason), s.write];
  // Each Read as stepText shows it, split around its reason: "Think: " | reason | "\nAction: Read ...".
  const MARK = '\u0000reason\u0000';
  const reads = s.reads.map((r) => {
    const text = readPieces({ ...r, reason: MARK, ranges: r.ranges ?? [] }, r.content, new Set(), OBSERVATION_BUDGET_BYTES)
      .map((p) => p.text)
      .join('');
    const at = text.indexOf(MARK);
    return { pre: text.slice(0, at), post: text.slice(at + MARK.length) };
  });
  // Text that follows thought j, up to the next thought (or the Write).
  const after = (j: number): string => {
    if (j === 0) return `\n${reads.length ? reads[0]!.pre : 'Think: '}`;
    if (j <= reads.length) return reads[j - 1]!.post + (j < reads.length ? reads[j]!.pre : 'Think: ');
    return `\nAction: Write ${s.path}\n`;
  };
  let before = head;
  for (let j = 0; j < slot; j++) before += thoughts[j] + after(j);
  let rest = after(slot);
  for (let j = slot + 1; j < thoughts.length; j++) rest += thoughts[j] + after(j);
  return { before, after: rest, target: s.target };
}

export function scoredText(t: StepText, thought: string): ScoredText {
  const start = t.before.length;
  const end = start + thought.length;
  return { prompt: t.before + thought + t.after + t.target, thought: [start, end], targetStart: end + t.after.length };
}
