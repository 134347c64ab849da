/**
 * render (raw): the paper's Raw-Repos baseline. One document per repository: every file with a
 * path header, concatenated. Order: package.json and READMEs first (what the project is), then
 * code in implementation order (dependencies before dependents, from the graph stage), then the
 * remaining files by path. Layout (versioned by RAW_LAYOUT):
 *
 *   <repo name>\n
 *   \n
 *   --- file: <path> ---\n
 *   <content, with a final newline added if missing>\n
 */
import { defineStage } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import { TextBuilder, type RenderedDoc } from './document.ts';

/** raw-2: a file's UTF-8 byte order mark is kept (raw-1 dropped it). */
export const RAW_LAYOUT = 'raw-2';
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export interface RenderRawInput {
  docId: string;
  repo: string;
  /** Files in document order (see orderFiles). */
  files: Array<{ path: string; hash: ContentHash }>;
}

/** package.json and READMEs, then `codeOrder`, then everything else by path. */
export function orderFiles<T extends { path: string }>(files: T[], codeOrder: string[]): T[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const out: T[] = [];
  const seen = new Set<string>();
  const take = (p: string): void => {
    const f = byPath.get(p);
    if (f && !seen.has(p)) {
      seen.add(p);
      out.push(f);
    }
  };
  const paths = files.map((f) => f.path).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  take('package.json');
  for (const p of paths) if (!p.includes('/') && /^readme(\.|$)/i.test(p)) take(p);
  for (const p of codeOrder) take(p);
  for (const p of paths) take(p);
  return out;
}

export const renderRawStage = defineStage<RenderRawInput, RenderedDoc>({
  name: 'render',
  version: '1',
  deps: ['ingest', 'graph'],
  description: "one document per repository ('raw': files concatenated with path headers, in implementation order)",
  item: (i) => i.docId,
  key: (i) => ({
    inputs: { files: hashText(canonicalJson(i.files.map((f) => [f.path, f.hash]))) },
    settings: { format: 'raw', layout: RAW_LAYOUT, docId: i.docId, repo: i.repo },
  }),
  async run(i, ctx) {
    const doc = new TextBuilder();
    doc.append(`${i.repo}\n\n`);
    for (const f of i.files) {
      const content = decoder.decode(await ctx.getBlob(f.hash));
      doc.append(`--- file: ${f.path} ---\n`);
      doc.append(content.endsWith('\n') || content.length === 0 ? content : content + '\n');
    }
    const text = await ctx.putBlob(Buffer.from(doc.toString(), 'utf8'));
    return { id: i.docId, repo: i.repo, text, bytes: doc.bytes, masked: doc.masked };
  },
});
