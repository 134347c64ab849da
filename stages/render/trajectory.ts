/**
 * render (trajectory): one document per repository, the reconstructed development trajectory.
 * The LLM wrote only the requirements, the plan's purposes and the thoughts; every Read
 * observation and every Write content is the repository's bytes, inserted here.
 *
 * Layout, versioned by TRAJECTORY_LAYOUT (a change of any line below is a new version):
 *
 *   Repository: <repo>\n
 *   \n
 *   ## Requirements\n
 *   <requirements>\n
 *   \n
 *   ## Plan\n
 *   <k>. <path>: <purpose>\n                       one line per code file, in implementation order
 *   \n
 *   ## Implementation\n
 *   then a section for each file: first package.json (if any) and the other non-code files that
 *   code imports (JSON data), in implementation order; then every code file in plan order; then
 *   every other file (README, docs, licence, type declarations) in path order:
 *   \n
 *   ### <path>\n                                   (code files: ### <k>/<n> <path>)
 *   Think: <thought>\n                             code files only
 *   Think: <why this dependency>\n                 ┐ for each Read, code files only
 *   Action: Read <dependency path>\n               │
 *   Observation:\n                                 │ ┐ masked (loss_mask 0): tool output
 *   <dependency content><\n if it had none>        │ │
 *   --- end of <dependency path><note> ---\n       ┘ ┘
 *   Think: <thought before writing>\n              code files only
 *                                                  (the search's accepted thought when search.enabled)
 *   Action: Write <path>\n
 *   <file content><\n if it had none>
 *   --- end of <path><note> ---\n
 *
 * <note> is empty, or " (no newline at end of file)" when the file does not end with a newline
 * (the renderer then added one): so the exact bytes are recoverable. Masked spans start right
 * after a newline and end with one, and the text after a span starts with "Think:", so Llama-3's
 * pre-tokenizer puts token boundaries exactly on span boundaries. No text of the layout looks
 * like a special token.
 */
import { defineStage } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import type { Plan } from '../plan/stage.ts';
import { TextBuilder, type RenderedDoc } from './document.ts';

export const TRAJECTORY_LAYOUT = 'trajectory-1';

const decoder = new TextDecoder();

export interface FileRef {
  path: string;
  hash: ContentHash;
}

export interface FileStep extends FileRef {
  think: string;
  reads: Array<FileRef & { reason: string }>;
  write: string;
}

export interface TrajectoryInput {
  docId: string;
  repo: string;
  plan: Plan;
  /** Written before the code: package.json and the non-code files code imports. */
  setup: FileRef[];
  /** Code files in plan order. */
  steps: FileStep[];
  /** Written after the code, in path order. */
  rest: FileRef[];
}

/** Content plus end marker, with the final newline added (and noted) when missing. */
export function fileBlock(path: string, content: string): string {
  const exact = content.length === 0 || content.endsWith('\n');
  return `${exact ? content : content + '\n'}--- end of ${path}${exact ? '' : ' (no newline at end of file)'} ---\n`;
}

/** The document's start: requirements, plan, and the Implementation heading (also the search's scoring prefix). */
export function trajectoryHeader(repo: string, plan: Plan): string {
  return `Repository: ${repo}\n\n## Requirements\n${plan.requirements}\n\n## Plan\n${plan.files.map((f, k) => `${k + 1}. ${f.path}: ${f.purpose}\n`).join('')}\n## Implementation\n`;
}

export const renderTrajectoryStage = defineStage<TrajectoryInput, RenderedDoc>({
  name: 'render-trajectory',
  version: '1',
  deps: ['ingest', 'plan', 'implement'],
  description: "one document per repository ('trajectory': plan, then Think / Read / Write per file, observations loss-masked)",
  item: (i) => i.docId,
  key: (i) => ({
    inputs: { trajectory: hashText(canonicalJson({ plan: i.plan, setup: i.setup, steps: i.steps, rest: i.rest })) },
    settings: { format: 'trajectory', layout: TRAJECTORY_LAYOUT, docId: i.docId, repo: i.repo },
  }),
  async run(i, ctx) {
    const read = async (h: ContentHash): Promise<string> => decoder.decode(await ctx.getBlob(h));
    const doc = new TextBuilder();
    doc.append(trajectoryHeader(i.repo, i.plan));
    const write = async (f: FileRef): Promise<void> => {
      doc.append(`Action: Write ${f.path}\n`);
      doc.append(fileBlock(f.path, await read(f.hash)));
    };
    for (const f of i.setup) {
      doc.append(`\n### ${f.path}\n`);
      await write(f);
    }
    for (const [k, s] of i.steps.entries()) {
      doc.append(`\n### ${k + 1}/${i.steps.length} ${s.path}\nThink: ${s.think}\n`);
      for (const r of s.reads) {
        doc.append(`Think: ${r.reason}\nAction: Read ${r.path}\n`);
        doc.append(`Observation:\n${fileBlock(r.path, await read(r.hash))}`, { masked: true });
      }
      doc.append(`Think: ${s.write}\n`);
      await write(s);
    }
    for (const f of i.rest) {
      doc.append(`\n### ${f.path}\n`);
      await write(f);
    }
    const text = await ctx.putBlob(Buffer.from(doc.toString(), 'utf8'));
    return { id: i.docId, repo: i.repo, text, bytes: doc.bytes, masked: doc.masked };
  },
});
