/**
 * The trajectory format for one repository, as the pipeline calls it:
 *
 *   facts + graph ─▶ llm (main agent, in parts when large) ─▶ plan
 *                 ─▶ per code file, concurrently: llm turn 0 ─▶ (Read: real content) ─▶ llm turn 1 ... Write
 *                    (implement/loop.ts) ─▶ implement (per file) ─▶ render-trajectory (one document)
 *
 * Every LLM call is its own cached `llm` item, so an edited prompt re-sends only the calls whose
 * rendered request changed, and an interrupted build resumes where it stopped. A repository
 * whose calls fail after the client's retries fails as a whole, naming the file; its finished
 * calls stay cached.
 */
import { redactUrl } from '../src/redact.ts';
import type { LoadedConfig } from './config.ts';
import type { ContentHash } from '../src/hash.ts';
import type { PipelineRun } from './config.ts';
import type { LlmSummary } from './llm/session.ts';
import type { StageDef } from '../src/stage.ts';
import type { FileFacts } from './parse/facts.ts';
import type { RepoGraph } from './graph/types.ts';
import { llmStage } from './llm/stage.ts';
import { sessionFor, summaryOf } from './llm/session.ts';
import { structuralPurpose, structuralRequirements, structuralSteps, type ImplementContext, type PlanContext } from './llm/offline.ts';
import { loadPrompts, promptHashes } from './llm/prompts.ts';
import { resolveLlmSettings } from './llm/settings.ts';
import { boundedJoin, briefOf, renderTree, type FileBrief } from './plan/brief.ts';
import { planCalls } from './plan/parts.ts';
import { planStage } from './plan/stage.ts';
import { fileLoop } from './implement/loop.ts';
import { limit } from './implement/limit.ts';
import { implementStage } from './implement/stage.ts';
import { priceStage } from './render/price.ts';
import { fileSection, partHeader, renderTrajectoryStage, stepPieces, TRAJECTORY_LAYOUT, type FileRef, type FileStep, type NumberedStep, type RenderedPart, type TrajectoryPartInput } from './render/trajectory.ts';
import { OBSERVATION_BUDGET_BYTES, usedRanges } from './render/observe.ts';
import { cutParts } from './render/parts.ts';
import { resolveTrajectorySettings } from './render/settings.ts';
import { repoSearch } from './search/optimize.ts';
import { withSearchStats } from './search/pins.ts';

export { TRAJECTORY_LAYOUT };

export interface TrajectoryRepo {
  /** Unique document id (the repository name, or name~index). */
  docId: string;
  repo: string;
  files: Array<{ path: string; hash: ContentHash }>;
  /** Facts of code files; undefined (or absent) for other files. */
  facts: Map<string, FileFacts | undefined>;
  graph: RepoGraph;
  readme?: string;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Code files (those with facts) in the graph's implementation order. */
function codeOrder(repo: Pick<TrajectoryRepo, 'files' | 'facts' | 'graph'>): string[] {
  const present = new Set(repo.files.filter((f) => repo.facts.get(f.path)).map((f) => f.path));
  const order = repo.graph.order.filter((p) => present.has(p));
  const placed = new Set(order);
  return [...order, ...[...present].filter((p) => !placed.has(p)).sort()];
}

/** Files whose sub-agent loops run at once: bounds the memory a large repository holds (contents, search). */
const FILE_CONCURRENCY = 16;

async function packageInfo(run: PipelineRun, repo: TrajectoryRepo): Promise<{ name?: string; description?: string }> {
  const pkg = repo.files.find((f) => f.path === 'package.json');
  if (!pkg) return {};
  try {
    const v = JSON.parse(decoder.decode(await run.blobs.get(pkg.hash)).replace(/^\uFEFF/, '')) as { name?: unknown; description?: unknown };
    return { name: typeof v.name === 'string' ? v.name : undefined, description: typeof v.description === 'string' ? v.description : undefined };
  } catch {
    return {}; // an invalid package.json is still written as a file; it just names nothing
  }
}

export interface TrajectoryResult {
  /** The repository's documents in order (one, or its parts). */
  docs: RenderedPart[];
  /** Parts over maxTokens because a single file (or import cycle) alone is. */
  oversizeParts: number;
  /** Imports crossing from a later part into an earlier one. */
  crossingImports: number;
  /** Set instead of docs when the trajectory exceeds maxTokens and trajectory.oversize is 'skip'. */
  skipped?: { code: 'TRAJECTORY_OVERSIZE'; message: string; tokens: number };
}

/** What the account of earlier parts may hold, in characters. */
const MAX_EARLIER_CHARS = 3_000;
/** Slack per section for BPE merges across section edges, and BOS + EOS. */
const EDGE_SLACK = 1;
const BOS_EOS = 2;

export async function renderTrajectory(run: PipelineRun, repo: TrajectoryRepo): Promise<TrajectoryResult> {
  const session = sessionFor(run);
  const { exec } = run;
  const hashOf = new Map(repo.files.map((f) => [f.path, f.hash]));
  const code = codeOrder(repo);
  const codeSet = new Set(code);
  const briefs = new Map<string, FileBrief>(code.map((p) => [p, briefOf(p, repo.facts.get(p)!, repo.graph)]));
  // Written before the code: the manifest, and the data files (JSON...) that code imports.
  const imported = new Set(repo.graph.edges.filter((e) => codeSet.has(e.from) && !codeSet.has(e.to)).map((e) => e.to));
  const setupPaths = [
    ...(hashOf.has('package.json') && !codeSet.has('package.json') ? ['package.json'] : []),
    ...repo.graph.order.filter((p) => imported.has(p) && p !== 'package.json' && hashOf.has(p)),
  ];
  const setup = setupPaths.map((path) => ({ path, hash: hashOf.get(path)! }));
  const inSetup = new Set(setupPaths);
  const rest = repo.files
    .filter((f) => !codeSet.has(f.path) && !inSetup.has(f.path))
    .map((f) => ({ path: f.path, hash: f.hash }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const planContext: PlanContext = {
    kind: 'plan',
    repo: repo.repo,
    ...(await packageInfo(run, repo)),
    files: code.map((p) => briefs.get(p)!),
    others: [...setup, ...rest].map((f) => f.path),
  };
  // One plan call per part (parts by directory and budget, not by the document cut): moving the cut re-sends no call.
  const { answers } = await planCalls(run, session, repo.docId, { kind: 'plan', repo: planContext.repo, name: planContext.name, description: planContext.description, others: planContext.others }, planContext.files, {
    tree: renderTree(repo.graph),
    edges: repo.graph.edges,
    readme: repo.readme,
  });
  const plan = (
    await exec.run(planStage, {
      repo: repo.docId,
      answers,
      files: code.map((p) => ({ path: p, fallback: structuralPurpose(briefs.get(p)!) })),
      fallbackRequirements: structuralRequirements(planContext),
    })
  ).value;

  const search = repoSearch(run, { docId: repo.docId, repo: repo.repo, plan, codeFiles: code.map((p) => ({ path: p, hash: hashOf.get(p)! })) });
  // Sub-agents run concurrently (a bounded number at a time): what each sees depends on the plan
  // order and the repository's real files, not on the others' answers. Each is a multi-turn loop.
  const slot = limit(FILE_CONCURRENCY);
  // Files written in order: the setup, then the code. Where each path is first written, as a
  // position among the code files (setup files: negative), so "written before code[k]" is a lookup, not a set of k paths per file (quadratic in a
  // repository's files: ~1.5 s of the main thread of a 437-package build).
  const written = [...setupPaths, ...code];
  const writtenAt = new Map<string, number>();
  written.forEach((p, i) => writtenAt.has(p) || writtenAt.set(p, i - setupPaths.length));
  const settled = await Promise.allSettled(
    code.map((path, k) =>
      slot(async (): Promise<FileStep> => {
        const brief = briefs.get(path)!;
        const readable = brief.deps.filter((d) => (writtenAt.get(d.path) ?? Infinity) < k);
        const context: ImplementContext = { kind: 'implement', file: brief, position: k + 1, total: code.length, readable };
        const done = written.slice(0, setupPaths.length + k);
        const turns = await fileLoop(run, session, plan, {
          docId: repo.docId,
          path,
          position: k + 1,
          total: code.length,
          brief,
          facts: repo.facts.get(path),
          content: decoder.decode(await run.blobs.get(hashOf.get(path)!)),
          readable: context.readable.map((d) => ({ path: d.path, names: d.names, hash: hashOf.get(d.path)!, facts: repo.facts.get(d.path) })),
          done,
        });
        const fallback = structuralSteps(context);
        const steps = (
          await exec.run(implementStage, { repo: repo.docId, path, turns, readable: context.readable.map((d) => d.path), fallback: { think: fallback.think, write: fallback.write } })
        ).value;
        // What each Read shows when excerpted: the definitions this file uses, from the facts.
        const names = (r: string): string[] => brief.deps.find((d) => d.path === r)?.names ?? [];
        // With search.enabled, the searched thoughts replace the loop's (search.steps: the one before the Write, or all).
        const searched = await search.optimizeSteps({
          path,
          hash: hashOf.get(path)!,
          position: k + 1,
          total: code.length,
          brief,
          think: steps.think,
          reads: steps.reads.map((r) => ({ ...r, hash: hashOf.get(r.path)!, ranges: usedRanges(repo.facts.get(r.path), names(r.path)) })),
          write: steps.write,
        });
        return { path, hash: hashOf.get(path)!, ...searched, reads: searched.reads.map((r) => ({ ...r, ranges: r.ranges ?? [] })) };
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const purposes = new Map(plan.files.map((f) => [f.path, f.purpose]));
  const steps: NumberedStep[] = settled.map((s, k) => {
    const step = (s as PromiseFulfilledResult<FileStep>).value;
    return { ...step, n: k + 1, purpose: purposes.get(step.path) ?? '' };
  });
  return renderParts(run, repo, { requirements: plan.requirements, setup, steps, rest, briefs });
}

type Item = { kind: 'setup' | 'rest'; file: FileRef } | { kind: 'step'; step: NumberedStep };

/** Prices every section, cuts the repository into parts within trajectory.maxTokens, renders them. */
async function renderParts(
  run: PipelineRun,
  repo: TrajectoryRepo,
  t: { requirements: string; setup: FileRef[]; steps: NumberedStep[]; rest: FileRef[]; briefs: Map<string, FileBrief> },
): Promise<TrajectoryResult> {
  const settings = resolveTrajectorySettings(run.loaded);
  const contents = new Map<ContentHash, string>();
  for (const f of [...t.setup, ...t.rest, ...t.steps, ...t.steps.flatMap((s) => s.reads)]) {
    if (!contents.has(f.hash)) contents.set(f.hash, decoder.decode(await run.blobs.get(f.hash)));
  }
  const content = (h: ContentHash): string => contents.get(h)!;
  const items: Item[] = [
    ...t.setup.map((file) => ({ kind: 'setup' as const, file })),
    ...t.steps.map((step) => ({ kind: 'step' as const, step })),
    ...t.rest.map((file) => ({ kind: 'rest' as const, file })),
  ];
  const pathOf = (it: Item): string => (it.kind === 'step' ? it.step.path : it.file.path);
  // Each section at its most: Reads priced as in a fresh document (a part only makes them
  // smaller). Counted in a worker: one message for the whole repository.
  const texts = [
    partHeader({ repo: repo.repo, part: 99, parts: 99, requirements: t.requirements, plan: [], earlier: '' }),
    `## Built in earlier parts\n${earlierAccount(items.map(pathOf), t.briefs)}\n\n`,
    ...items.map((it) =>
      it.kind === 'step' ? stepPieces(it.step, t.steps.length, content, new Set(), OBSERVATION_BUDGET_BYTES).map((p) => p.text).join('') : fileSection(it.file.path, content(it.file.hash)),
    ),
    ...items.map((it) => (it.kind === 'step' ? `${it.step.n}. ${it.step.path}: ${it.step.purpose}\n` : '')),
  ];
  const counts = (await run.exec.run(priceStage, { docId: repo.docId, texts })).value;
  const n = items.length;
  const priced = items.map((it, k) => ({ path: pathOf(it), tokens: EDGE_SLACK + counts[2 + k]! }));
  const planLine = items.map((it, k) => (it.kind === 'step' ? counts[2 + n + k]! + EDGE_SLACK : 0));
  const planPrefix = [0];
  for (const x of planLine) planPrefix.push(planPrefix[planPrefix.length - 1]! + x);
  const base = counts[0]! + BOS_EOS + 4;
  const earlierMax = counts[1]! + 32;
  const header = (a: number, b: number): number => base + planPrefix[b]! - planPrefix[a]! + (a > 0 ? earlierMax : 0);
  const whole = header(0, items.length) + priced.reduce((n, p) => n + p.tokens, 0);
  if (whole > settings.maxTokens && settings.oversize === 'skip') {
    return {
      docs: [],
      oversizeParts: 0,
      crossingImports: 0,
      skipped: { code: 'TRAJECTORY_OVERSIZE', tokens: whole, message: `the trajectory is about ${whole} tokens, over trajectory.maxTokens ${settings.maxTokens}; not written (trajectory.oversize 'skip')` },
    };
  }
  const cut = cutParts(priced, repo.graph.edges, repo.graph.cycles, settings.maxTokens, header);
  const docs: RenderedPart[] = [];
  for (const [k, [a, b]] of cut.parts.entries()) {
    const own = items.slice(a, b);
    const input: TrajectoryPartInput = {
      docId: cut.parts.length > 1 ? `${repo.docId}#${k + 1}` : repo.docId,
      repo: repo.repo,
      part: k + 1,
      parts: cut.parts.length,
      requirements: t.requirements,
      total: t.steps.length,
      earlier: a > 0 ? earlierAccount(items.slice(0, a).map(pathOf), t.briefs) : '',
      setup: own.flatMap((it) => (it.kind === 'setup' ? [it.file] : [])),
      steps: own.flatMap((it) => (it.kind === 'step' ? [it.step] : [])),
      rest: own.flatMap((it) => (it.kind === 'rest' ? [it.file] : [])),
      observationBytes: OBSERVATION_BUDGET_BYTES,
    };
    docs.push((await run.exec.run(renderTrajectoryStage, input)).value);
  }
  return { docs, oversizeParts: cut.oversize, crossingImports: cut.crossing };
}

/** What earlier parts built: each code file with its public definitions (names, no bodies), then the other files' paths. Bounded. */
function earlierAccount(paths: string[], briefs: Map<string, FileBrief>): string {
  const lines: string[] = [];
  const others: string[] = [];
  for (const p of paths) {
    const b = briefs.get(p);
    if (!b) {
      others.push(p);
      continue;
    }
    const names = b.exports.length ? `exports ${b.exports.join(', ')}` : b.definitions.length ? `defines ${b.definitions.slice(0, 6).join('; ')}` : '';
    lines.push(`- ${p}${names ? `: ${names}` : ''}`);
  }
  if (others.length) lines.push(`- also written: ${others.join(', ')}`);
  return boundedJoin(lines, MAX_EARLIER_CHARS);
}

/** For the pipeline's `stages` list, in dependency order. */
export function trajectoryStages(): StageDef<any, any>[] {
  return [llmStage, planStage, implementStage, priceStage, renderTrajectoryStage];
}

/** The run's LLM summary (requests sent, answers reused, tokens; per agent under plan/implement). */
export function llmSummary(run: PipelineRun): LlmSummary {
  return withSearchStats(run, summaryOf(run));
}

/** What the manifest pins about the trajectory: provider, model, endpoint, prompts by hash, layout. */
export function trajectoryPins(loaded: LoadedConfig): Record<string, unknown> {
  const s = resolveLlmSettings(loaded);
  return {
    provider: s.provider,
    model: s.model,
    baseURL: s.endpoint ? redactUrl(s.endpoint.baseURL) : null,
    temperature: s.temperature,
    seed: s.seed,
    maxTokens: s.maxTokens,
    contextTokens: s.contextTokens,
    maxTurns: s.maxTurns,
    prompts: promptHashes(loadPrompts(s.promptsDir)),
    layout: TRAJECTORY_LAYOUT,
    documents: { ...resolveTrajectorySettings(loaded), observationBytes: OBSERVATION_BUDGET_BYTES },
    stages: Object.fromEntries(trajectoryStages().filter((st) => !st.memo).map((st) => [st.name, st.version])),
  };
}
