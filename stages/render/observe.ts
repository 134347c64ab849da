/**
 * What a Read returns, the way agent tools return it: real bytes of the repository, but only
 * what the importer needs.
 *
 *   whole      the dependency is not yet shown in this document and fits the per-observation
 *              budget: the whole file (`Action: Read path`)
 *   excerpt    a re-read, or a dependency larger than the budget: exact line ranges of the
 *              definitions the importer uses, chosen from the facts (`Action: Read path:120-164`),
 *              one action per range, together within the budget. A large file with no usable
 *              definition gives its first lines.
 *   reference  the dependency is already shown in full in this document and the facts name no
 *              definition it provides: the observation holds no bytes, only a marker saying so
 *
 * Every observation's content is a byte-exact slice of the file (whole lines), so the repository
 * is recoverable from it and it is loss-masked like any tool output.
 */
import type { FileFacts } from '../parse/facts.ts';

/** Bytes one Read may return (~1,500-2,000 Llama-3 tokens of code). */
export const OBSERVATION_BUDGET_BYTES = 6_000;

/** Lines between two ranges that still make them one read. */
const MERGE_GAP = 2;

/** 1-based inclusive line range. */
export type LineRange = [number, number];

export type ReadView = { kind: 'whole' } | { kind: 'reference' } | { kind: 'excerpt'; ranges: LineRange[] };

const SKIP_NAMES = new Set(['*', 'default', 'module.exports']);

/**
 * Line ranges of the definitions an importer uses, from the dependency's facts: the top-level
 * definitions it imports by name; with no usable name (a namespace, a default, a bare require),
 * the definitions the dependency exports, else the export statements' lines. Sorted, merged.
 */
export function usedRanges(facts: FileFacts | undefined, names: string[]): LineRange[] {
  if (!facts) return [];
  const top = facts.definitions.filter((d) => d.kind !== 'method');
  const wanted = new Set(names.filter((n) => !SKIP_NAMES.has(n)));
  let defs = top.filter((d) => wanted.has(d.name));
  if (defs.length === 0) {
    const exported = new Set(facts.exports.map((e) => e.name));
    defs = top.filter((d) => exported.has(d.name));
  }
  // A definition's doc comment (directly above it) comes with it.
  let ranges: LineRange[] = defs.map((d) => [Math.max(1, d.startLine - (d.doc ? d.doc.split('\n').length : 0)), d.endLine]);
  if (ranges.length === 0) {
    ranges = facts.exports.map((e) => {
      const around = top.find((d) => d.startLine <= e.line && e.line <= d.endLine);
      return around ? [around.startLine, around.endLine] : [e.line, e.line];
    });
  }
  return mergeRanges(ranges);
}

export function mergeRanges(ranges: LineRange[]): LineRange[] {
  const sorted = [...ranges].filter(([a, b]) => a >= 1 && b >= a).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: LineRange[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    // Ranges a blank line or two apart are read as one.
    if (last && a <= last[1] + MERGE_GAP + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Byte offsets where each line starts (index 0 = line 1), plus the end. */
export function lineStarts(content: string): number[] {
  const starts = [0];
  for (let i = content.indexOf('\n'); i >= 0 && i < content.length - 1; i = content.indexOf('\n', i + 1)) starts.push(i + 1);
  starts.push(content.length);
  return starts;
}

/** Lines a..b (1-based, inclusive) of the content, exactly as in the file (UTF-16 slice of the decoded text). */
export function sliceLines(content: string, starts: number[], [a, b]: LineRange): string {
  const lines = starts.length - 1;
  return content.slice(starts[Math.min(a, lines) - 1], starts[Math.min(b, lines)]);
}

/**
 * The view of one Read. `shown`: the file is already shown in full earlier in this document.
 * Ranges are clipped to the file and to the budget (a range that alone is over the budget keeps
 * its first lines that fit, at least one).
 */
export function chooseView(content: string, candidates: LineRange[], shown: boolean, budget = OBSERVATION_BUDGET_BYTES): ReadView {
  const bytes = Buffer.byteLength(content, 'utf8');
  if (!shown && bytes <= budget) return { kind: 'whole' };
  const starts = lineStarts(content);
  const lines = starts.length - 1;
  const size = (r: LineRange): number => Buffer.byteLength(sliceLines(content, starts, r), 'utf8');
  const fit = (ranges: LineRange[]): LineRange[] => {
    const out: LineRange[] = [];
    let used = 0;
    for (const [a0, b0] of ranges) {
      const a = Math.min(a0, lines);
      let b = Math.min(b0, lines);
      if (a < 1 || lines === 0) continue;
      while (b > a && used + size([a, b]) > budget) b = a + Math.floor((b - a) / 2);
      const s = size([a, b]);
      if (used + s > budget && out.length > 0) break;
      out.push([a, b]);
      used += s;
      if (used >= budget) break;
    }
    return out;
  };
  const chosen = fit(candidates);
  if (chosen.length > 0) return { kind: 'excerpt', ranges: chosen };
  if (shown || lines === 0) return { kind: 'reference' };
  return { kind: 'excerpt', ranges: fit([[1, lines]]) };
}
