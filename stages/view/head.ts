/** `retrace dataset head`: the first rows of a version, decoded back to text (packed rows too). */
import type { VersionInfo } from '../../src/dataset.ts';
import { renderAnsi, renderPlain } from './render.ts';
import { readRows, spansOf, tokenizer, type Span } from './rows.ts';

export interface HeadRow {
  shard: string;
  row: number;
  /** documents layout: the document; packed: the documents in this sequence, in order. */
  documents: Array<{ id: string; tokens: number }>;
  tokens: number;
  trained: number;
  spans: Span[];
}

export async function headRows(v: VersionInfo, n: number): Promise<HeadRow[]> {
  const tok = await tokenizer();
  return (await readRows(v, n)).map((r) => ({
    shard: r.shard,
    row: r.row,
    documents: r.id !== undefined ? [{ id: r.id, tokens: r.inputIds.length }] : r.docIds!.map((id, k) => ({ id: id === '' ? '(padding)' : id, tokens: r.docLengths![k] })),
    tokens: r.inputIds.length,
    trained: r.lossMask.reduce((s, x) => s + x, 0),
    spans: spansOf(tok, r.inputIds, r.lossMask),
  }));
}

export function formatHead(rows: HeadRow[], color: boolean): string {
  return rows
    .map((r) => {
      const head = `── ${r.shard} row ${r.row}: ${r.documents.map((d) => `${d.id} (${d.tokens})`).join(' + ')}; ${r.tokens} tokens, ${r.trained} trained ──`;
      return `${color ? `\x1b[1m${head}\x1b[0m` : head}\n${color ? renderAnsi(r.spans) : renderPlain(r.spans)}`;
    })
    .join('\n\n');
}
