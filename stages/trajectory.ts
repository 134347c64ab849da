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
import { briefOf, renderTree, type FileBrief } from './plan/brief.ts';
import { planCalls } from './plan/parts.ts';
import { planStage } from './plan/stage.ts';
import { fileLoop } from './implement/loop.ts';
import { limit } from './implement/limit.ts';
import { implementStage } from './implement/stage.ts';
import { renderTrajectoryStage, TRAJECTORY_LAYOUT, type FileStep } from './render/trajectory.ts';
import type { RenderedDoc } from './render/document.ts';
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

const decoder = new TextDecoder();

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
    const v = JSON.parse(decoder.decode(await run.blobs.get(pkg.hash))) as { name?: unknown; description?: unknown };
    return { name: typeof v.name === 'string' ? v.name : undefined, description: typeof v.description === 'string' ? v.description : undefined };
  } catch {
    return {}; // an invalid package.json is still written as a file; it just names nothing
  }
}

export async function renderTrajectory(run: PipelineRun, repo: TrajectoryRepo): Promise<RenderedDoc> {
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
  const settled = await Promise.allSettled(
    code.map((path, k) =>
      slot(async (): Promise<FileStep> => {
        const before = new Set([...setupPaths, ...code.slice(0, k)]);
        const brief = briefs.get(path)!;
        const context: ImplementContext = { kind: 'implement', file: brief, position: k + 1, total: code.length, readable: brief.deps.filter((d) => before.has(d.path)) };
        const done = [...setupPaths, ...code.slice(0, k)];
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
        // With search.enabled, the searched thoughts replace the loop's (search.steps: the one before the Write, or all).
        const searched = await search.optimizeSteps({
          path,
          hash: hashOf.get(path)!,
          position: k + 1,
          total: code.length,
          brief,
          think: steps.think,
          reads: steps.reads.map((r) => ({ ...r, hash: hashOf.get(r.path)! })),
          write: steps.write,
        });
        return { path, hash: hashOf.get(path)!, ...searched };
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const steps = settled.map((s) => (s as PromiseFulfilledResult<FileStep>).value);

  const doc = await exec.run(renderTrajectoryStage, { docId: repo.docId, repo: repo.repo, plan, setup, steps, rest });
  return doc.value;
}

/** For the pipeline's `stages` list, in dependency order. */
export function trajectoryStages(): StageDef<any, any>[] {
  return [llmStage, planStage, implementStage, renderTrajectoryStage];
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
    baseURL: s.endpoint?.baseURL ?? null,
    temperature: s.temperature,
    seed: s.seed,
    maxTokens: s.maxTokens,
    contextTokens: s.contextTokens,
    maxTurns: s.maxTurns,
    prompts: promptHashes(loadPrompts(s.promptsDir)),
    layout: TRAJECTORY_LAYOUT,
    stages: Object.fromEntries(trajectoryStages().map((st) => [st.name, st.version])),
  };
}
