/**
 * A file's sub-agent as a real loop. The model sees the ground truth (the file it is about to
 * write, in full or its budgeted parts; the requirements, the plan, what is already written) and
 * reconstructs the reasoning before it, turn by turn:
 *
 *   system, user(facts + real content + readable deps)                → Think + Action
 *   + assistant(that turn) + user(Observation: the real dependency)  → Think + Action ...
 *   ... until the action is Write (the last turn, maxTurns - 1, must write).
 *
 * Each turn is its own cached `llm` item (`repo:path@t`) keyed by its rendered request, which
 * holds every earlier turn: an edited prompt or file re-sends only the turns whose request
 * changed, and a crash resumes at the turn. A turn is rejected, and re-sampled with another
 * seed, when it reads a file that is not readable, reads on its last turn, or when a thought
 * repeats a long span of the file (COPY_WORDS words in a row). The assistant messages carry the
 * turn as parsed (thoughts bounded), so every request fits the context budget.
 */
import { RetraceError } from '../../src/errors.ts';
import type { ContentHash } from '../../src/hash.ts';
import type { PipelineRun } from '../config.ts';
import type { FileFacts } from '../parse/facts.ts';
import { charsFor, cutText, estimateTokens, excerptLines, promptBudget, TOKENS_PER_MESSAGE } from '../llm/budget.ts';
import { llmCall } from '../llm/call.ts';
import { parseJsonObject } from '../llm/json.ts';
import type { TurnContext } from '../llm/offline.ts';
import { fillTemplate } from '../llm/prompts.ts';
import { conversationRequest, type AnswerCheck } from '../llm/request.ts';
import type { LlmSession } from '../llm/session.ts';
import type { ChatMessage } from '../../src/llm/types.ts';
import { boundedJoin, cleanText, renderBrief, type FileBrief } from '../plan/brief.ts';
import type { Plan } from '../plan/stage.ts';
import { normalizePath } from '../plan/stage.ts';
import { fnv1a } from '../hash32.ts';

/** Expected answer sizes (max_tokens, within llm.maxTokens): the first turn has the overview too. */
export const FIRST_TURN_TOKENS = 600;
export const TURN_TOKENS = 400;
/** A thought repeating this many whitespace-separated words of the file in a row is a copy. */
export const COPY_WORDS = 12;
/** Shares of the first message's variable budget. */
const SHARE = { requirements: 0.08, plan: 0.12, done: 0.04, brief: 0.04, content: 0.37, observations: 0.35 };
/** Thoughts kept in the conversation (and in the document) are cut here. */
const MAX_THOUGHT_CHARS = 2_000;

export interface Turn {
  /** First turn only: the file's job and design. */
  overview?: string;
  think: string;
  action: 'read' | 'write';
  path?: string;
}

export interface LoopDep {
  path: string;
  hash: ContentHash;
  /** Names the file imports from it ('*' for a namespace). */
  names: string[];
  facts?: FileFacts;
}

export interface LoopFile {
  docId: string;
  path: string;
  position: number;
  total: number;
  brief: FileBrief;
  facts?: FileFacts;
  /** The file's real content. */
  content: string;
  /** Written dependencies the file imports, in import order. */
  readable: LoopDep[];
  /** Files written before this one, in order. */
  done: string[];
}

/** The sizes every turn of a file is built to (tokens, and characters of each variable part). */
export interface LoopBudget {
  answerTokens: { first: number; next: number };
  chars: Record<keyof typeof SHARE, number>;
  /** Characters of one Read's content. */
  observationChars: number;
}

export function loopBudget(session: LlmSession): LoopBudget {
  const { settings, prompts } = session;
  const cap = settings.maxTokens.implement;
  const first = cap === null ? FIRST_TURN_TOKENS : Math.min(cap, FIRST_TURN_TOKENS);
  const next = cap === null ? TURN_TOKENS : Math.min(cap, TURN_TOKENS);
  const later = settings.maxTurns - 1;
  // Fixed: the templates, the message headers, and the earlier turns' answers (at most `next` each).
  const fixed =
    estimateTokens(prompts['implement/system.md']) +
    estimateTokens(prompts['implement/user.md']) +
    later * (estimateTokens(prompts['implement/observation.md']) + 2 * TOKENS_PER_MESSAGE + next) +
    (later > 0 ? first - next : 0) +
    2 * TOKENS_PER_MESSAGE;
  const chars = charsFor(promptBudget(settings.contextTokens, fixed, Math.max(first, next), 'implement'));
  const share = Object.fromEntries(Object.entries(SHARE).map(([k, v]) => [k, Math.floor(chars * v)])) as LoopBudget['chars'];
  return { answerTokens: { first, next }, chars: share, observationChars: later > 0 ? Math.floor(share.observations / later) : 0 };
}

/** Lines worth keeping when a file is cut: its imports, definitions (of `names`, if given) and exports. */
function wantedLines(facts: FileFacts | undefined, names?: string[]): number[] {
  if (!facts) return [];
  const all = !names || names.length === 0 || names.includes('*');
  return [
    ...facts.imports.map((i) => i.line),
    ...facts.definitions.filter((d) => all || names!.includes(d.name) || (d.className !== undefined && names!.includes(d.className))).map((d) => d.startLine),
    ...facts.exports.map((e) => e.line),
  ];
}

const wordsOf = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/** A file's words, and a 32-bit hash of each (FNV-1a), for finding copies of it in thoughts. */
export interface CopyIndex {
  words: string[];
  hashes: Int32Array;
}

/** Multiplier of the polynomial hash of a window of word hashes (odd: invertible mod 2^32). */
const WINDOW_BASE = 0x9e3779b1 | 0;
/** WINDOW_BASE ** (COPY_WORDS - 1) mod 2^32: what the word leaving a window weighed in it. */
const WINDOW_TOP = (() => {
  let p = 1;
  for (let i = 1; i < COPY_WORDS; i++) p = Math.imul(p, WINDOW_BASE);
  return p;
})();

function wordHashes(words: readonly string[]): Int32Array {
  const out = new Int32Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = fnv1a(words[i]!) | 0;
  return out;
}

/**
 * Calls `visit(start, hash)` for every window of COPY_WORDS words, in order: a rolling hash of
 * the words' hashes, so a window costs O(1), not its characters (hashing every window's text was
 * ~4.7 s of the main thread of a 437-package trajectory build). Equal windows hash equally;
 * a match is confirmed word by word, so a collision never counts as a copy. `visit` returning
 * true stops the walk.
 */
function eachWindow(hashes: Int32Array, visit: (start: number, hash: number) => boolean | void): void {
  if (hashes.length < COPY_WORDS) return;
  let h = 0;
  for (let j = 0; j < COPY_WORDS; j++) h = (Math.imul(h, WINDOW_BASE) + hashes[j]!) | 0;
  for (let i = 0; ; i++) {
    if (visit(i, h)) return;
    if (i + COPY_WORDS >= hashes.length) return;
    h = (Math.imul((h - Math.imul(hashes[i]!, WINDOW_TOP)) | 0, WINDOW_BASE) + hashes[i + COPY_WORDS]!) | 0;
  }
}

function sameWords(a: readonly string[], i: number, b: readonly string[], j: number): boolean {
  for (let k = 0; k < COPY_WORDS; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** The words of a file, hashed once (the first check builds it; a rebuild answered from the cache never does). */
export function copyIndex(text: string): CopyIndex {
  const words = wordsOf(text);
  return { words, hashes: wordHashes(words) };
}

/**
 * The first span of COPY_WORDS words of a thought (whitespace-separated, joined by one space)
 * that also occurs in a row in the file, or undefined. Exact: the words are compared, hashes
 * only find the candidates (until 2026-12 equal 32-bit hashes of two windows counted as a copy,
 * so a rare collision rejected a good answer; an answer accepted then is accepted now).
 */
export function copiedSpan(thought: string, index: CopyIndex): string | undefined {
  if (index.words.length < COPY_WORDS) return undefined;
  const words = wordsOf(thought);
  if (words.length < COPY_WORDS) return undefined;
  // The thought's windows by hash (few), then one pass over the file's.
  const starts = new Map<number, number[]>();
  eachWindow(wordHashes(words), (i, h) => {
    const at = starts.get(h);
    if (at) at.push(i);
    else starts.set(h, [i]);
  });
  let first = Infinity;
  eachWindow(index.hashes, (j, h) => {
    const at = starts.get(h);
    if (at) for (const i of at) if (i < first && sameWords(words, i, index.words, j)) first = i;
    return first === 0;
  });
  return first === Infinity ? undefined : words.slice(first, first + COPY_WORDS).join(' ');
}

function parseTurn(content: string): Turn {
  const o = parseJsonObject(content) ?? {};
  const overview = cleanText(o.overview, MAX_THOUGHT_CHARS);
  const path = normalizePath(o.path);
  return {
    ...(overview && { overview }),
    think: cleanText(o.think, MAX_THOUGHT_CHARS),
    action: o.action === 'read' ? 'read' : 'write',
    ...(o.action === 'read' && path && { path }),
  };
}

/** The turn as the conversation carries it: JSON, its thoughts cut so the message stays within `maxChars`. */
function boundedTurn(turn: Turn, maxChars: number): string {
  const room = Math.max(100, maxChars - 80 - (turn.path?.length ?? 0));
  const o = turn.overview ? Math.floor(room * 0.6) : 0;
  return JSON.stringify({
    ...(turn.overview && { overview: cutText(turn.overview, o) }),
    think: cutText(turn.think, room - o),
    action: turn.action,
    ...(turn.path && { path: turn.path }),
  });
}

const listReadable = (deps: Array<{ path: string; names: string[] }>): string =>
  deps.length ? deps.map((d) => `- ${d.path}${d.names.length ? ` (${d.names.join(', ')})` : ''}`).join('\n') : '(none)';

function turnsText(turnsLeft: number, readable: number): string {
  if (turnsLeft <= 1 || readable === 0) return 'This is your last turn: the action must be "write".';
  return `You have ${turnsLeft} turns left, counting this one: on the last one the action must be "write".`;
}

/**
 * What every file loop of a repository shows of its plan: each file's purpose, and the plan as a
 * numbered list within `chars`. Built once per plan (per file it was quadratic in a repository's
 * files: ~2 s of the main thread of a 437-package trajectory build).
 */
function planViews(plan: Plan, chars: number): { purposes: Map<string, string>; listing: string } {
  let byChars = planViewCache.get(plan);
  if (!byChars) planViewCache.set(plan, (byChars = new Map()));
  let views = byChars.get(chars);
  if (!views) {
    const purposes = new Map<string, string>();
    for (const p of plan.files) if (!purposes.has(p.path)) purposes.set(p.path, p.purpose);
    views = { purposes, listing: boundedJoin(plan.files.map((p, i) => `${i + 1}. ${p.path}: ${p.purpose}`), chars) };
    byChars.set(chars, views);
  }
  return views;
}
const planViewCache = new WeakMap<Plan, Map<number, { purposes: Map<string, string>; listing: string }>>();

/** Runs a file's loop to its Write; returns the turns in order. */
export async function fileLoop(run: PipelineRun, session: LlmSession, plan: Plan, f: LoopFile): Promise<Turn[]> {
  const { settings, prompts } = session;
  const budget = loopBudget(session);
  const lastTurn = settings.maxTurns - 1;
  const { purposes, listing } = planViews(plan, budget.chars.plan);
  const purpose = purposes.get(f.path);
  const listed = boundedJoin(f.done, budget.chars.done);
  const first = fillTemplate('implement/user.md', prompts['implement/user.md'], {
    requirements: cutText(plan.requirements, budget.chars.requirements),
    plan: listing,
    doneCount: String(f.done.length),
    done: f.done.length ? listed : '(none yet)',
    path: f.path,
    position: String(f.position),
    total: String(f.total),
    brief: cutText(renderBrief(f.brief, purpose), budget.chars.brief),
    content: excerptLines(f.content.replace(/\n$/, ''), budget.chars.content, wantedLines(f.facts)),
    readable: listReadable(f.readable),
    turns: turnsText(lastTurn + 1, f.readable.length),
  });
  const messages: ChatMessage[] = [
    { role: 'system', content: prompts['implement/system.md'] },
    { role: 'user', content: first },
  ];
  // Built on the first cache miss only: a rebuild answers every turn from the cache.
  let index: CopyIndex | undefined;
  const turns: Turn[] = [];
  const read: string[] = [];
  for (let t = 0; ; t++) {
    const remaining = f.readable.filter((d) => !read.includes(d.path));
    const mustWrite = t >= lastTurn || remaining.length === 0;
    const check: AnswerCheck = (content) => {
      const turn = parseTurn(content);
      if (t === 0 && !turn.overview) return 'the first turn has no "overview"';
      if (!turn.think) return 'the answer has no "think"';
      if (turn.action === 'read') {
        if (mustWrite) return `turn ${t + 1} must write, not read ${turn.path ?? '?'}`;
        if (!remaining.some((d) => d.path === turn.path)) return `${turn.path ?? '?'} is not a readable dependency (readable: ${remaining.map((d) => d.path).join(', ')})`;
      }
      for (const thought of [turn.overview, turn.think]) {
        const copy = thought && copiedSpan(thought, (index ??= copyIndex(f.content)));
        if (copy) return `a thought copies the file ("${copy.slice(0, 80)}")`;
      }
      return undefined;
    };
    const request = conversationRequest(settings, {
      messages: [...messages],
      maxTokens: settings.maxTokens.implement === null ? null : t === 0 ? budget.answerTokens.first : budget.answerTokens.next,
      schema: 'turn-1',
    });
    const context: TurnContext | undefined =
      settings.provider === 'offline'
        ? { kind: 'turn', file: f.brief, position: f.position, total: f.total, turn: t, lastTurn, read: [...read], readable: remaining.map((d) => ({ path: d.path, names: d.names })) }
        : undefined;
    const answer = await llmCall(run, session, 'implement', `${f.docId}:${f.path}@${t}`, { request, context }, check);
    const turn = parseTurn(answer);
    turns.push(turn);
    if (turn.action === 'write') return turns;
    const dep = mustWrite ? undefined : remaining.find((d) => d.path === turn.path);
    // The check made every answer of this request; only a cache written by another check could differ.
    if (!dep) throw new RetraceError('LLM_BAD_ANSWER', `turn ${t + 1} of ${f.path} reads ${turn.path ?? '?'}, which it may not read`, { item: `${f.docId}:${f.path}@${t}`, hint: 'the cached answer predates the turn check: a new cache.salt (or cache) re-asks it' });
    read.push(dep.path);
    const left = f.readable.filter((d) => !read.includes(d.path));
    messages.push({ role: 'assistant', content: boundedTurn(turn, charsFor(t === 0 ? budget.answerTokens.first : budget.answerTokens.next)) });
    messages.push({
      role: 'user',
      content: fillTemplate('implement/observation.md', prompts['implement/observation.md'], {
        path: dep.path,
        content: excerptLines((await readBlob(run, dep.hash)).replace(/\n$/, ''), budget.observationChars, wantedLines(dep.facts, dep.names)),
        next: `${left.length ? `Dependencies you may still read:\n${listReadable(left)}\n\n` : ''}${turnsText(lastTurn - t, left.length)}`,
      }),
    });
  }
}

const decoder = new TextDecoder();
async function readBlob(run: PipelineRun, hash: ContentHash): Promise<string> {
  return decoder.decode(await run.blobs.get(hash));
}
