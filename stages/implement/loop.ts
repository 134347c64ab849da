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
import { fnv1aWords } from '../hash32.ts';

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

/**
 * Hashes of the windows of COPY_WORDS words of a text (FNV-1a of the words joined by one space:
 * numbers, so a 1 MiB file's index stays small; hashed in place, without building each window's
 * string, which was ~1.3 s of the main thread of a 200-package trajectory build), to find copies
 * in a thought.
 */
export function copyIndex(text: string): Set<number> {
  const words = wordsOf(text);
  const index = new Set<number>();
  for (let i = 0; i + COPY_WORDS <= words.length; i++) index.add(fnv1aWords(words, i, COPY_WORDS));
  return index;
}

/** The first copied span of the target in a thought, or undefined. */
export function copiedSpan(thought: string, index: Set<number>): string | undefined {
  if (index.size === 0) return undefined;
  const words = wordsOf(thought);
  for (let i = 0; i + COPY_WORDS <= words.length; i++) if (index.has(fnv1aWords(words, i, COPY_WORDS))) return words.slice(i, i + COPY_WORDS).join(' ');
  return undefined;
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

/** Runs a file's loop to its Write; returns the turns in order. */
export async function fileLoop(run: PipelineRun, session: LlmSession, plan: Plan, f: LoopFile): Promise<Turn[]> {
  const { settings, prompts } = session;
  const budget = loopBudget(session);
  const lastTurn = settings.maxTurns - 1;
  const purpose = plan.files.find((p) => p.path === f.path)?.purpose;
  const listed = boundedJoin(f.done, budget.chars.done);
  const first = fillTemplate('implement/user.md', prompts['implement/user.md'], {
    requirements: cutText(plan.requirements, budget.chars.requirements),
    plan: boundedJoin(plan.files.map((p, i) => `${i + 1}. ${p.path}: ${p.purpose}`), budget.chars.plan),
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
  let index: Set<number> | undefined;
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
