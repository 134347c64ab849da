/**
 * The offline generator of alternative thoughts: no language model, only the file's facts (its
 * brief). Candidate k of iteration i appends to the current thought one structural sentence
 * about the file that the thought does not hold yet, taken from a list ordered by salience:
 * definitions with their parameters, what is imported from which file, the exports, the external
 * modules, then the documented purposes. The index walks that list with the iteration, so a
 * rejected iteration is followed by different candidates. It shows the search mechanics and
 * what a better-grounded thought does to the score; it is not a model writing prose.
 */
import type { FileBrief } from '../plan/brief.ts';

export interface ThoughtContext {
  kind: 'thought';
  file: FileBrief;
  /** The thought the candidates are alternatives to (the one accepted so far). */
  current: string;
  /** 1-based iteration, 0-based candidate, and the candidates per iteration. */
  iteration: number;
  candidate: number;
  candidates: number;
}

const DEFINITIONS_PER_SENTENCE = 3;
const NAMES_PER_SENTENCE = 6;

const bare = (sig: string): string => sig.replace(/^(function|class|method) /, '');

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Sentences about the file, most salient first. */
export function salientSentences(b: FileBrief): string[] {
  const out: string[] = [];
  for (const defs of chunks(b.definitions.map(bare), DEFINITIONS_PER_SENTENCE)) out.push(`It defines ${defs.join(', ')}.`);
  for (const d of b.deps) {
    for (const names of chunks(d.names.filter((n) => n !== '*'), NAMES_PER_SENTENCE)) out.push(`It imports ${names.join(', ')} from ${d.path}.`);
  }
  for (const names of chunks(b.exports, NAMES_PER_SENTENCE)) out.push(`It exports ${names.join(', ')}.`);
  for (const names of chunks(b.external, NAMES_PER_SENTENCE)) out.push(`It uses the modules ${names.join(', ')}.`);
  for (const doc of b.docs) out.push(`${doc.replace(/[.!?]?$/, '.')}`);
  return out;
}

export function alternativeThought(c: ThoughtContext): string {
  const unused = salientSentences(c.file).filter((s) => !c.current.includes(s));
  if (unused.length === 0) return c.current;
  const pick = unused[((c.iteration - 1) * c.candidates + c.candidate) % unused.length]!;
  return `${c.current} ${pick}`;
}
