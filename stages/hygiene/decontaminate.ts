/**
 * Benchmark decontamination: a source file that shares one token n-gram (default 13, as in the
 * GPT-3 / StarCoder decontamination) with any benchmark item is left out (FILE_CONTAMINATED).
 *
 * Benchmark files are given by the user (nothing is shipped): JSONL, where every string field of
 * a line is text of that item (prompt, canonical_solution, test...), named by `task_id` / `id` /
 * `name` when present, else `file:line`; or any other file, which is one item named by its file.
 * N-grams are of code tokens (tokens.ts), so layout changes do not hide a copy.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RetraceError } from '../../src/errors.ts';
import { hashText } from '../../src/hash.ts';
import { codeTokens, ngramOf, tokenHashes } from './tokens.ts';

export interface BenchmarkIndex {
  /** Content hash of the benchmark files and n: the decontamination stage's key input. */
  hash: string;
  ngram: number;
  /** n-gram hash -> item name (the first item holding it). */
  grams: Map<number, string>;
  items: number;
}

function itemName(obj: Record<string, unknown>, file: string, line: number): string {
  for (const k of ['task_id', 'id', 'name', 'problem_id']) {
    const v = obj[k];
    if (typeof v === 'string' || typeof v === 'number') return `${basename(file)}#${v}`;
  }
  return `${basename(file)}:${line}`;
}

function strings(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, out);
}

export function loadBenchmarks(files: readonly string[], ngram: number): BenchmarkIndex {
  const grams = new Map<number, string>();
  const parts: string[] = [String(ngram)];
  let items = 0;
  const add = (text: string, name: string) => {
    const t = tokenHashes(codeTokens(text));
    for (let i = 0; i + ngram <= t.length; i++) {
      const g = ngramOf(t, i, ngram);
      if (!grams.has(g)) grams.set(g, name);
    }
  };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new RetraceError('BENCHMARK_INVALID', `cannot read benchmark file: ${(err as Error).message}`, { item: file, hint: 'fix hygiene.decontaminate.files (paths are relative to the config file)' });
    }
    parts.push(hashText(text));
    if (/\.jsonl$/i.test(file)) {
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          throw new RetraceError('BENCHMARK_INVALID', `line ${i + 1} is not JSON`, { item: file, hint: 'a .jsonl benchmark holds one JSON object per line' });
        }
        const texts: string[] = [];
        strings(obj, texts);
        const name = itemName((obj ?? {}) as Record<string, unknown>, file, i + 1);
        items++;
        for (const t of texts) add(t, name);
      });
    } else {
      items++;
      add(text, basename(file));
    }
  }
  return { hash: hashText(parts.join('\0')), ngram, grams, items };
}

/** The first benchmark item sharing an n-gram with `text`, if any. */
export function contaminatedBy(text: string, bench: BenchmarkIndex): string | undefined {
  const t = tokenHashes(codeTokens(text));
  for (let i = 0; i + bench.ngram <= t.length; i++) {
    const hit = bench.grams.get(ngramOf(t, i, bench.ngram));
    if (hit !== undefined) return hit;
  }
  return undefined;
}
