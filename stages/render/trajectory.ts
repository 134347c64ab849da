/**
 * render (trajectory): the reconstructed development trajectory of a repository, as one document
 * or, when it would exceed `trajectory.maxTokens`, as several self-contained parts (cut by
 * stages/trajectory-parts.ts). The LLM wrote only the requirements, the plan's purposes and the
 * thoughts; every Read observation and every Write content is the repository's bytes, inserted
 * here.
 *
 * Layout, versioned by TRAJECTORY_LAYOUT (a change of any line below is a new version):
 *
 *   Repository: <repo>\n                          (parts: Repository: <repo> (part <p> of <q>)\n)
 *   \n
 *   ## Requirements\n
 *   <requirements>\n
 *   \n
 *   ## Plan\n
 *   <k>. <path>: <purpose>\n                       one line per code file of this document, numbered
 *                                                  in the repository's implementation order
 *   \n
 *   ## Built in earlier parts\n                    parts after the first only:
 *   <account>\n                                    paths and public definitions, not bodies
 *   \n
 *   ## Implementation\n
 *   then a section for each file of the document: first package.json (if any) and the other
 *   non-code files that code imports (JSON data), in implementation order; then code files in
 *   plan order; then every other file (README, docs, licence, type declarations) in path order:
 *   \n
 *   ### <path>\n                                   (code files: ### <k>/<n> <path>)
 *   Think: <thought>\n                             code files only
 *   Think: <why this dependency>\n                 ┐ for each Read, code files only
 *   Action: Read <target>\n                        │ one Read action per excerpt range
 *   Observation:\n                                 │ ┐ masked (loss_mask 0): tool output
 *   <slice of the dependency><\n if it had none>   │ │
 *   --- end of <target><note> ---\n                ┘ ┘
 *   Think: <thought before writing>\n              code files only
 *                                                  (the search's accepted thought when search.enabled)
 *   Action: Write <path>\n
 *   <file content><\n if it had none>
 *   --- end of <path><note> ---\n
 *
 * <target> is `<path>` (the whole file, see render/observe.ts), `<path>:<a>-<b>` (lines a to b,
 * 1-based, inclusive, exact bytes), or, for a reference to a file already shown in full in this
 * document, `<path>` with an observation of no bytes: `Observation:\n--- <path> is shown above ---\n`.
 * <note> is empty, or " (no newline at end of file)" when the slice does not end with a newline
 * (the renderer then added one): so the exact bytes are recoverable. Masked spans start right
 * after a newline and end with one, and the text after a span starts with "Think:", so Llama-3's
 * pre-tokenizer puts token boundaries exactly on span boundaries. No text of the layout looks
 * like a special token.
 *
 * trajectory-2 (issue 12): documents bounded by maxTokens (parts, "Built in earlier parts"),
 * Read observations as whole files, line-range excerpts or references (was: always whole).
 */
import { defineStage } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { TextBuilder, type RenderedDoc } from './document.ts';
import { chooseView, lineStarts, sliceLines, type LineRange, type ReadView } from './observe.ts';
import type { Plan } from '../plan/stage.ts';

export const TRAJECTORY_LAYOUT = 'trajectory-2';

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export interface FileRef {
  path: string;
  hash: ContentHash;
}

export interface ReadStep extends FileRef {
  reason: string;
  /** Line ranges of the definitions the importer uses (from the facts), sorted and merged. */
  ranges: LineRange[];
}

export interface FileStep extends FileRef {
  think: string;
  reads: ReadStep[];
  write: string;
}

/** A code step with its number in the repository's implementation order. */
export interface NumberedStep extends FileStep {
  n: number;
  purpose: string;
}

export interface TrajectoryPartInput {
  docId: string;
  repo: string;
  /** 1-based part and the repository's number of parts (1: the whole repository). */
  part: number;
  parts: number;
  requirements: string;
  /** Code files in the repository (the n of "k/n"). */
  total: number;
  /** What earlier parts built (empty for the first part). */
  earlier: string;
  /** Written before the code: package.json and the non-code files code imports (first part). */
  setup: FileRef[];
  /** This part's code files in plan order. */
  steps: NumberedStep[];
  /** Written after the code, in path order. */
  rest: FileRef[];
  /** Per-observation budget in bytes. */
  observationBytes: number;
}

/** How the Read observations of a document came out. */
export interface ReadCounts {
  whole: number;
  excerpts: number;
  references: number;
}

export interface RenderedPart extends RenderedDoc {
  reads: ReadCounts;
}

/** Content plus end marker, with the final newline added (and noted) when missing. */
export function fileBlock(path: string, content: string): string {
  const exact = content.length === 0 || content.endsWith('\n');
  return `${exact ? content : content + '\n'}--- end of ${path}${exact ? '' : ' (no newline at end of file)'} ---\n`;
}

/** The start of a one-part document (also the search's scoring prefix). */
export function trajectoryHeader(repo: string, plan: Plan): string {
  return partHeader({ repo, part: 1, parts: 1, requirements: plan.requirements, plan: plan.files.map((f, k) => ({ n: k + 1, path: f.path, purpose: f.purpose })), earlier: '' });
}

export function partHeader(h: { repo: string; part: number; parts: number; requirements: string; plan: Array<{ n: number; path: string; purpose: string }>; earlier: string }): string {
  const title = h.parts > 1 ? `Repository: ${h.repo} (part ${h.part} of ${h.parts})` : `Repository: ${h.repo}`;
  const earlier = h.earlier ? `## Built in earlier parts\n${h.earlier}\n\n` : '';
  return `${title}\n\n## Requirements\n${h.requirements}\n\n## Plan\n${h.plan.map((f) => `${f.n}. ${f.path}: ${f.purpose}\n`).join('')}\n${earlier}## Implementation\n`;
}

/** One written file's section (non-code files). */
export function fileSection(path: string, content: string): string {
  return `\n### ${path}\nAction: Write ${path}\n${fileBlock(path, content)}`;
}

/**
 * One code step as text pieces (masked or not). `shown` holds the files shown in full so far in
 * this document and is updated (a whole Read and the Write add to it). The same function prices
 * a step for the cut (with an empty `shown`: the most a step can cost) and renders it.
 */
export function stepPieces(
  s: NumberedStep,
  total: number,
  content: (hash: ContentHash) => string,
  shown: Set<string>,
  budget: number,
  counts?: ReadCounts,
): Array<{ text: string; masked?: boolean }> {
  const out: Array<{ text: string; masked?: boolean }> = [{ text: `\n### ${s.n}/${total} ${s.path}\nThink: ${s.think}\n` }];
  for (const r of s.reads) out.push(...readPieces(r, content(r.hash), shown, budget, counts));
  out.push({ text: `Think: ${s.write}\nAction: Write ${s.path}\n${fileBlock(s.path, content(s.hash))}` });
  shown.add(s.path);
  return out;
}

/** One Read step as text pieces: the thought, then one action + masked observation per view part. */
export function readPieces(
  r: { path: string; reason: string; ranges: LineRange[] },
  body: string,
  shown: Set<string>,
  budget: number,
  counts?: ReadCounts,
): Array<{ text: string; masked?: boolean }> {
  const view: ReadView = chooseView(body, r.ranges, shown.has(r.path), budget);
  if (view.kind === 'whole') {
    shown.add(r.path);
    if (counts) counts.whole++;
    return [{ text: `Think: ${r.reason}\nAction: Read ${r.path}\n` }, { text: `Observation:\n${fileBlock(r.path, body)}`, masked: true }];
  }
  if (view.kind === 'reference') {
    if (counts) counts.references++;
    return [{ text: `Think: ${r.reason}\nAction: Read ${r.path}\n` }, { text: `Observation:\n--- ${r.path} is shown above ---\n`, masked: true }];
  }
  if (counts) counts.excerpts++;
  const starts = lineStarts(body);
  return view.ranges.flatMap((range, i) => {
    const target = `${r.path}:${range[0]}-${range[1]}`;
    return [{ text: `${i === 0 ? `Think: ${r.reason}\n` : ''}Action: Read ${target}\n` }, { text: `Observation:\n${fileBlock(target, sliceLines(body, starts, range))}`, masked: true }];
  });
}

export const renderTrajectoryStage = defineStage<TrajectoryPartInput, RenderedPart>({
  name: 'render-trajectory',
  version: '2',
  deps: ['ingest', 'plan', 'implement'],
  description: "one document per repository or part ('trajectory': plan, then Think / Read / Write per file, observations loss-masked)",
  item: (i) => i.docId,
  key: (i) => ({
    inputs: { trajectory: hashText(canonicalJson({ requirements: i.requirements, earlier: i.earlier, setup: i.setup, steps: i.steps, rest: i.rest })) },
    settings: { format: 'trajectory', layout: TRAJECTORY_LAYOUT, docId: i.docId, repo: i.repo, part: i.part, parts: i.parts, total: i.total, observationBytes: i.observationBytes },
  }),
  async run(i, ctx) {
    const hashes = new Set<ContentHash>([...i.setup, ...i.rest, ...i.steps, ...i.steps.flatMap((s) => s.reads)].map((f) => f.hash));
    const contents = new Map<ContentHash, string>();
    for (const h of hashes) contents.set(h, decoder.decode(await ctx.getBlob(h)));
    const content = (h: ContentHash): string => contents.get(h)!;
    const doc = new TextBuilder();
    doc.append(partHeader({ repo: i.repo, part: i.part, parts: i.parts, requirements: i.requirements, plan: i.steps, earlier: i.earlier }));
    const shown = new Set<string>();
    const reads: ReadCounts = { whole: 0, excerpts: 0, references: 0 };
    for (const f of i.setup) {
      doc.append(fileSection(f.path, content(f.hash)));
      shown.add(f.path);
    }
    for (const s of i.steps) for (const p of stepPieces(s, i.total, content, shown, i.observationBytes, reads)) doc.append(p.text, { masked: p.masked });
    for (const f of i.rest) doc.append(fileSection(f.path, content(f.hash)));
    const text = await ctx.putBlob(Buffer.from(doc.toString(), 'utf8'));
    return { id: i.docId, repo: i.repo, text, bytes: doc.bytes, masked: doc.masked, reads };
  },
});
