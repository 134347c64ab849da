/**
 * The offline provider: deterministic plans and thoughts written from the facts (what a file
 * defines, what it imports and why, in which order). It is structural text, not a language
 * model, and says so in the requirements it writes. It answers the same JSON the agents are
 * asked for, from a structured context that is part of its calls' keys.
 */
import { bareSignature, languageName, type FileBrief } from '../plan/brief.ts';
import { alternativeThought, type ThoughtContext } from '../search/offline-thoughts.ts';

export interface PlanContext {
  kind: 'plan';
  repo: string;
  name?: string;
  description?: string;
  /** Code files in implementation order. */
  files: FileBrief[];
  /** Other files written as they are (package.json, README, ...). */
  others: string[];
}

export interface ImplementContext {
  kind: 'implement';
  file: FileBrief;
  /** 1-based position in the plan, and the plan's length. */
  position: number;
  total: number;
  /** Dependencies already written, which the file may read. */
  readable: Array<{ path: string; names: string[] }>;
}

export type OfflineContext = PlanContext | ImplementContext | ThoughtContext;

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function few(items: string[], max: number): string {
  return items.length > max ? `${items.slice(0, max).join(', ')} and ${items.length - max} more` : list(items);
}

const bare = bareSignature;

/** "exports a, b" in JavaScript/TypeScript; Python's public names are the ones `__all__` lists. */
function exportClause(b: FileBrief): string {
  const names = few(b.exports, 5);
  return b.language === 'python' ? `lists ${names} in __all__` : `exports ${names}`;
}

function clauses(b: FileBrief): string[] {
  const what: string[] = [];
  if (b.declarations) what.push('declares types only');
  if (b.definitions.length) what.push(`defines ${few(b.definitions.map(bare), 5)}`);
  if (b.exports.length) what.push(exportClause(b));
  if (b.deps.length) what.push(`builds on ${few(b.deps.map((d) => d.path), 4)}`);
  if (b.external.length) what.push(`uses ${few(b.external, 4)}`);
  if (b.usedBy) what.push(`is imported by ${b.usedBy} file${b.usedBy === 1 ? '' : 's'}`);
  return what.length ? what : [`has ${b.lines} lines and no top-level definitions`];
}

/** What a file is for, from its facts alone (also the fallback when an agent gives no purpose). */
export function structuralPurpose(b: FileBrief): string {
  const text = list(clauses(b));
  return `${text[0].toUpperCase()}${text.slice(1)}.${b.docs.length ? ` ${b.docs[0]}` : ''}`;
}

/** Requirements from the facts (also the fallback when the main agent writes none). */
export function structuralRequirements(c: PlanContext): string {
  const n = c.files.length;
  const lang = [...new Set(c.files.map((f) => languageName(f.language)))].join('/') || 'code';
  const entries = c.files.filter((f) => f.usedBy === 0).map((f) => f.path);
  const roots = c.files.filter((f) => f.deps.length === 0).map((f) => f.path);
  const external = [...new Set(c.files.flatMap((f) => f.external))].sort();
  const lines = [
    'Structural requirements, derived from the code\'s facts (no language model wrote them).',
    `Build ${c.name ?? c.repo}${c.description ? `: ${c.description}` : ''}.`,
    `The code is ${n} ${lang} file${n === 1 ? '' : 's'}${c.others.length ? `, next to ${c.others.length} other file${c.others.length === 1 ? '' : 's'} (${few(c.others, 4)})` : ''}.`,
  ];
  if (entries.length) lines.push(`Files no other file imports (entry points, scripts, tests): ${few(entries, 6)}.`);
  if (roots.length) lines.push(`Files that import no other file of the project come first: ${few(roots, 6)}.`);
  if (external.length) lines.push(`External modules: ${few(external, 10)}.`);
  lines.push('Each file is written after the files it imports.');
  return lines.join('\n');
}

/** A file's thoughts and reads from the facts (also the fallback for missing thoughts). */
export function structuralSteps(c: ImplementContext): { think: string; reads: Array<{ path: string; reason: string }>; write: string } {
  const b = c.file;
  const think = [`${b.path} ${list(clauses(b))}. It has ${b.lines} lines and is file ${c.position} of ${c.total}.`];
  for (const d of b.docs.slice(0, 3)) think.push(`Documented: ${d}`);
  const reads = c.readable.map((d) => ({
    path: d.path,
    reason: d.names.length && !d.names.includes('*')
      ? `${b.path} imports ${few(d.names, 6)} from ${d.path}; read how ${d.names.length === 1 ? 'it is' : 'they are'} defined.`
      : `${b.path} imports ${d.path} as a whole; read what it provides.`,
  }));
  const order: string[] = [];
  if (b.deps.length || b.external.length) order.push(`the imports (${few([...b.deps.map((d) => d.path), ...b.external], 6)})`);
  if (b.definitions.length) order.push(`${few(b.definitions.map(bare), 8)}, in that order`);
  if (b.exports.length) order.push(b.language === 'python' ? `__all__ (${few(b.exports, 6)})` : `the exports (${few(b.exports, 6)})`);
  const write = order.length ? `Write ${b.path}: ${list(order)}.` : `Write ${b.path} (${b.lines} lines).`;
  return { think: think.join(' '), reads, write };
}

export function offlineAnswer(c: OfflineContext): string {
  if (c.kind === 'thought') return JSON.stringify({ think: alternativeThought(c) });
  if (c.kind === 'implement') return JSON.stringify(structuralSteps(c));
  return JSON.stringify({ requirements: structuralRequirements(c), files: c.files.map((f) => ({ path: f.path, purpose: structuralPurpose(f) })) });
}
