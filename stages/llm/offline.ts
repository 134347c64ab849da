/**
 * The offline provider: deterministic plans and thoughts written from the facts (what a file
 * defines, what it imports and why, in which order). It is structural plumbing, not a language
 * model: it lets a build run end to end without a server (tests, CI, a first look at the
 * layout). It answers the same JSON the agents are asked for, turn by turn in the same loop,
 * from a structured context that is part of its calls' keys. Its text says nothing about
 * itself (the manifest names the provider) and nothing the writer of a file could not know
 * before writing it (no line counts).
 */
import { bareSignature, languageName, type FileBrief } from '../plan/brief.ts';
import { alternativeThought, type ThoughtContext } from '../search/offline-thoughts.ts';

export interface PlanContext {
  kind: 'plan';
  repo: string;
  name?: string;
  description?: string;
  /** Code files in implementation order (of this part, when the plan is written in parts). */
  files: FileBrief[];
  /** Other files written as they are (package.json, README, ...). */
  others: string[];
  /** 0-based part and number of parts; the requirements are written by part 0 only. */
  part?: number;
  parts?: number;
  /** Part 0 of several: every code file, which the requirements describe. */
  all?: FileBrief[];
}

/** One turn of a file's loop: the facts, what was read so far, what can still be read. */
export interface TurnContext {
  kind: 'turn';
  file: FileBrief;
  position: number;
  total: number;
  /** 0-based turn, and the last turn's index (maxTurns - 1): that turn must write. */
  turn: number;
  lastTurn: number;
  /** Dependencies already read in earlier turns, in order. */
  read: string[];
  /** Dependencies still readable (written, imported by the file, not read yet). */
  readable: Array<{ path: string; names: string[] }>;
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

export type OfflineContext = PlanContext | ImplementContext | TurnContext | ThoughtContext;

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function few(items: string[], max: number): string {
  return items.length > max ? `${items.slice(0, max).join(', ')} and ${items.length - max} more` : list(items);
}

/**
 * A definition as an offline thought names it: its signature, parameters cut to "(…)" when they
 * run past four words. A long TypeScript signature is a line of the file, and a thought that
 * repeats COPY_WORDS (12) words of the file is rejected as a copy (implement/loop.ts).
 */
export function thoughtName(sig: string): string {
  const s = bareSignature(sig);
  const open = s.indexOf('(');
  if (open < 0) return s.split(/\s+/).length > 4 ? s.split(/\s+/).slice(0, 4).join(' ') : s;
  return s.slice(open).split(/\s+/).length > 4 ? `${s.slice(0, open)}(…)` : s;
}

const bare = thoughtName;

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
  return what.length ? what : ['has no top-level definitions'];
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
    `Build ${c.name ?? c.repo}${c.description ? `: ${c.description.trim().replace(/[.!?]+$/, '')}` : ''}.`,
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
  const think = [`${b.path} ${list(clauses(b))}. It is file ${c.position} of ${c.total}.`];
  const reads = c.readable.map((d) => ({ path: d.path, reason: readReason(b, d) }));
  const order: string[] = [];
  if (b.deps.length || b.external.length) order.push(`the imports (${few([...b.deps.map((d) => d.path), ...b.external], 6)})`);
  if (b.definitions.length) order.push(`${few(b.definitions.map(bare), 8)}, in that order`);
  if (b.exports.length) order.push(b.language === 'python' ? `__all__ (${few(b.exports, 6)})` : `the exports (${few(b.exports, 6)})`);
  const write = order.length ? `Write ${b.path}: ${list(order)}.` : `Write ${b.path}.`;
  return { think: think.join(' '), reads, write };
}

function readReason(b: FileBrief, d: { path: string; names: string[] }): string {
  return d.names.length && !d.names.includes('*')
    ? `${b.path} imports ${few(d.names, 6)} from ${d.path}; read how ${d.names.length === 1 ? 'it is' : 'they are'} defined.`
    : `${b.path} imports ${d.path} as a whole; read what it provides.`;
}

/**
 * One turn of the loop, offline: read the next readable dependency while turns remain, then
 * write. The first turn also gives the overview thought.
 */
export function structuralTurn(c: TurnContext): { overview?: string; think: string; action: 'read' | 'write'; path?: string } {
  const steps = structuralSteps({ kind: 'implement', file: c.file, position: c.position, total: c.total, readable: c.readable });
  const overview = c.turn === 0 ? { overview: steps.think } : {};
  const next = c.readable[0];
  const seen = c.read.length ? `Having read ${few(c.read, 4)}: ` : '';
  if (next && c.turn < c.lastTurn) return { ...overview, think: `${seen}${readReason(c.file, next)}`, action: 'read', path: next.path };
  return { ...overview, think: `${seen}${steps.write}`, action: 'write' };
}

export function offlineAnswer(c: OfflineContext): string {
  if (c.kind === 'thought') return JSON.stringify({ think: alternativeThought(c) });
  if (c.kind === 'implement') return JSON.stringify(structuralSteps(c));
  if (c.kind === 'turn') return JSON.stringify(structuralTurn(c));
  const files = c.files.map((f) => ({ path: f.path, purpose: structuralPurpose(f) }));
  if ((c.part ?? 0) > 0) return JSON.stringify({ files });
  return JSON.stringify({ requirements: structuralRequirements(c.all ? { ...c, files: c.all } : c), files });
}
