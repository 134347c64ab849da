/**
 * The Retrace pipeline: which stage runs on which item, in what order.
 *
 *   source ─▶ ingest (per file) ─▶ parse (per code file) ─▶ graph (per repository)
 *          ─▶ render (per repository: one document) ─▶ tokenize (per document) ─▶ shard (per file)
 *
 * Sources are admitted while the bytes of the sources in flight stay under a budget (and their
 * count under a cap tied to the worker pool: ingest/inflight.ts), each repository flows through
 * its stages on its own and its files are stored concurrently (bounded by bytes read and not yet
 * stored), so a build holds a bounded slice of the corpus, never all of it. Shards are planned
 * from token counts and read their documents back from the cache one by one.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactDeep, redactUrl } from '../src/redact.ts';
import pLimit from 'p-limit';
import { newStamp, stampPath, stampTree } from '../src/stamp.ts';
import { sourceStampOf } from './ingest/stamp.ts';
import { isRemoteGit } from './ingest/git.ts';
import { RetraceError } from '../src/errors.ts';
import { hashBytes, hashText, type ContentHash } from '../src/hash.ts';
import { canonicalJson } from '../src/key.ts';
import type { Pipeline, PipelineOutput, PipelineRun as EngineRun } from '../src/pipeline.ts';
import type { PipelineConfig, SourceConfig } from './config.ts';
import { configSection } from './config-schema.ts';
import { PIPELINE_CODES } from './errors.ts';
import { describeManifest, describeSummary, manifestDiff, replaySummary } from './describe.ts';
import type { LlmSummary } from './llm/session.ts';
import { ingestStage, type IngestedFile } from './ingest/stage.ts';
import { inFlight, InOrder, type InFlight } from './ingest/inflight.ts';
import { openSource, type OpenedSource, type SkippedFile, type SourceIdentity } from './ingest/sources.ts';
import { PARSE_YOUNG_GENERATION_MB, parseStage } from './parse/stage.ts';
import { languageFor } from './parse/languages/registry.ts';
import { parserVersionFor } from './parse/version.ts';
import type { FileFacts } from './parse/facts.ts';
import { graphStage } from './graph/stage.ts';
import { formatRepoGraph, GRAPH_VERSION, type RepoGraph } from './graph/index.ts';
import { isGraphConfigPath } from './graph/configs.ts';
import { orderFiles, RAW_LAYOUT, renderRawStage } from './render/raw.ts';
import { tokenizeStage, warmTokenizer, type TokenizedRef } from './tokenize/stage.ts';
import { llama3TokenizerId } from './tokenize/llama3.ts';
import { datasetCard } from './shard/card.ts';
import { shardStage, writeShards } from './shard/stage.ts';
import { rowGroupStage } from './shard/row-group.ts';
import { resolveSettings, type ResolvedSettings } from './settings.ts';
import { llmSummary, renderTrajectory, trajectoryPins, trajectoryStages } from './trajectory.ts';
import type { RenderedDoc } from './render/document.ts';
import { versionShape, type RepoShape } from './render/shape.ts';
import { searchPins, searchRecordsOf, searchStages } from './search/pins.ts';
import { formatStepRecord, type StepRecord } from './search/record.ts';
import { resolveSearchSettings } from './search/settings.ts';
import { resolveLlmSettings } from './llm/settings.ts';
import { filesPerAnswer } from './plan/parts.ts';
import { applySecrets, decisionsInOrder, resolveHygiene, hygienePins, hygieneStages, scanSources, summarize, type SourceDecision, type SourceHygiene } from './hygiene/index.ts';
import { loadBenchmarks } from './hygiene/decontaminate.ts';
import { NOASSERTION } from './shard/stage.ts';
import { sourceContentInput, sourceContentMemoStage, sourceMemoInput, sourceMemoStage } from './source-memo.ts';
import { replayLlmTallies } from './llm/session.ts';
import type { ErrorCode } from '../src/errors.ts';
import type { TaskPool } from '../src/pool.ts';
import type { Executor } from '../src/executor.ts';
import { chainRun } from './chain-run.ts';

/** Parsers and secret rules loaded in a parse thread ahead of the first file (warm-task.ts). */
const WARM_TASK = new URL('./warm-task.ts', import.meta.url).href;
const warmedParsers = new WeakSet<TaskPool>();

type PipelineRun = EngineRun<PipelineConfig>;

export const stages = [ingestStage, ...hygieneStages, parseStage, graphStage, renderRawStage, ...trajectoryStages(), ...searchStages(), tokenizeStage, rowGroupStage, shardStage, sourceMemoStage, sourceContentMemoStage] as const;

const HERE = dirname(fileURLToPath(import.meta.url));


/** What a repository's chain gives (and its memo keeps): the outcome less its place in the config and its hygiene. */
type SourceResult = Omit<SourceOutcome, 'index' | 'spec'>;

interface SourceOutcome {
  index: number;
  spec: SourceConfig;
  identity?: SourceIdentity;
  docId?: string;
  files?: number;
  snapshot?: ContentHash;
  skipped: SkippedFile[];
  /** The repository's documents: one, or its parts in order (trajectory over maxTokens). */
  docs?: TokenizedRef[];
  /** Trajectory documents only: how the Read observations came out, and the cut. */
  shape?: RepoShape;
  graph?: { files: number; edges: number; unresolved: number; cycles: number };
  /** Language ids of the source's code files (the manifest pins those languages' parser versions). */
  languages?: string[];
  error?: { code: string; message: string };
  /** Not written: the trajectory exceeds trajectory.maxTokens and trajectory.oversize is 'skip'. */
  oversize?: { code: ErrorCode; message: string };
  /** Search step records of the document (manifest statistics), when search is on. */
  search?: StepRecord[];
  /** SPDX expression (hygiene, issue 15). */
  license?: string;
  licenseFrom?: string;
  hygiene?: SourceHygiene;
}

function describeSource(spec: SourceConfig, index: number): string {
  const where = 'dir' in spec ? spec.dir : 'git' in spec ? `${spec.git}${spec.rev ? '@' + spec.rev : ''}` : spec.tarball;
  return `sources[${index}] ${redactUrl(where)}`;
}

async function processSource(
  run: PipelineRun,
  settings: ResolvedSettings,
  tokenizerId: string,
  opened: OpenedSource,
  out: SourceOutcome,
  decision: SourceDecision | undefined,
  flight: InFlight,
  hold: (bytes: number) => void,
): Promise<void> {
  const { exec } = run;
  const repo = out.docId!;
  if (decision?.skipSource) {
    // Left out whole by hygiene (license, duplicate of an earlier source): recorded, not an error.
    warnSkippedSource(run, out, decision);
    return;
  }
  const dropped: SkippedFile[] = [];
  const files: IngestedFile[] = [];
  const facts = new Map<string, Promise<FileFacts | undefined>>();
  const parseLimit = pLimit(Math.max(2, run.pool.threads * 4));
  // Files are stored concurrently (their writes share the cache's transactions), in walk order;
  // a file's parse starts once its bytes are stored. Settled in order below, so the first
  // failure in path order is the one reported, as when they were stored one by one.
  const stored = new InOrder<IngestedFile>();
  for await (const f of opened.files()) {
    if (stored.failed) break;
    const drop = decision?.drop.get(f.path);
    if (drop) {
      dropped.push(drop);
      continue;
    }
    const bytes = applySecrets(f.bytes, decision?.findings.get(f.path));
    const hash = hashBytes(bytes);
    const n = bytes.byteLength;
    hold(n);
    await flight.files.take(n);
    const file = exec
      .run(ingestStage, { repo, path: f.path, bytes, hash })
      .then((r) => r.value)
      .finally(() => flight.files.give(n));
    stored.add(file);
    // status looks items up one by one, stopping at the first stale one, as it always did.
    if (run.mode === 'status') await file;
    const language = languageFor(f.path);
    if (language) {
      if (!out.languages?.includes(language)) (out.languages ??= []).push(language);
      const parsed = file.then(() => parseLimit(() => exec.run(parseStage, { repo, path: f.path, hash, language }).then((p) => p.value)));
      parsed.catch(() => undefined); // awaited with the others once every file is stored
      facts.set(f.path, parsed);
    }
  }
  try {
    files.push(...(await stored.values()));
  } catch (err) {
    await Promise.allSettled(facts.values()); // no parse of this source outlives its failure
    throw err;
  }
  out.skipped = [...opened.skipped, ...dropped];
  out.files = files.length;
  warnSkippedFiles(run, out);
  if (files.length === 0) {
    // Parse promises are empty too; nothing to wait for.
    throw new RetraceError('SOURCE_EMPTY', 'no usable file in this repository (empty, or every file was skipped)', {
      item: describeSource(out.spec, out.index),
      hint: 'check the path; skipped files and their reasons are listed in the build report',
    });
  }
  out.snapshot = hashText(canonicalJson(files.map((f) => [f.path, f.hash])));
  const factList = await Promise.all(files.map(async (f) => ({ path: f.path, facts: await facts.get(f.path) })));
  const pkg = files.find((f) => f.path === 'package.json');
  let packageJson: { hash: ContentHash; value: unknown } | undefined;
  if (pkg) {
    try {
      packageJson = { hash: pkg.hash, value: JSON.parse(new TextDecoder().decode(await run.blobs.get(pkg.hash))) };
    } catch {
      packageJson = undefined; // an invalid package.json resolves nothing; the graph lists such imports as unresolved
    }
  }
  const configs = [];
  for (const f of files) {
    if (isGraphConfigPath(f.path)) configs.push({ path: f.path, hash: f.hash, text: new TextDecoder().decode(await run.blobs.get(f.hash)) });
  }
  const kept = new Set(files.map((f) => f.path));
  const aliases = [...(decision?.aliases ?? [])].filter(([, to]) => kept.has(to));
  const graph: RepoGraph = (await exec.run(graphStage, { repo, files: factList, packageJson, configs, ...(aliases.length ? { aliases } : {}) })).value;
  out.graph = { files: files.length, edges: graph.edges.length, unresolved: graph.unresolved.length, cycles: graph.cycles.length };
  const ordered = orderFiles(files, graph.order);
  const readme = files.find((f) => !f.path.includes('/') && /^readme(\.|$)/i.test(f.path));
  let docs: RenderedDoc[];
  if (run.loaded.config.format === 'trajectory') {
    const t = await renderTrajectory(run, {
      docId: repo,
      repo,
      files: files.map((f) => ({ path: f.path, hash: f.hash })),
      facts: new Map(factList.map((f) => [f.path, f.facts])),
      graph,
      readme: readme ? new TextDecoder().decode(await run.blobs.get(readme.hash)) : undefined,
    });
    if (t.skipped) {
      out.oversize = { code: t.skipped.code, message: t.skipped.message };
      warnOversize(run, out);
      return;
    }
    docs = t.docs;
    out.shape = {
      parts: t.docs.length,
      oversizeParts: t.oversizeParts,
      crossingImports: t.crossingImports,
      reads: t.docs.reduce((n, d) => ({ whole: n.whole + d.reads.whole, excerpts: n.excerpts + d.reads.excerpts, references: n.references + d.reads.references }), { whole: 0, excerpts: 0, references: 0 }),
    };
  } else {
    docs = [(await exec.run(renderRawStage, { docId: repo, repo, files: ordered.map((f) => ({ path: f.path, hash: f.hash })) })).value];
  }
  out.docs = [];
  for (const doc of docs) out.docs.push((await exec.run(tokenizeStage, { doc, tokenizerId, bos: settings.tokenizer.bos, eos: settings.tokenizer.eos })).value);
}

function warnSkippedSource(run: PipelineRun, out: SourceOutcome, decision: SourceDecision): void {
  run.reporter.emit({ type: 'warn', code: decision.skipSource!.code, item: describeSource(out.spec, out.index), message: decision.skipSource!.reason });
}

function warnSkippedFiles(run: PipelineRun, out: SourceOutcome): void {
  if (out.skipped.length === 0) return;
  const byCode = new Map<string, number>();
  for (const s of out.skipped) byCode.set(s.code, (byCode.get(s.code) ?? 0) + 1);
  const counts = [...byCode].map(([c, n]) => `${c} ${n}`).join(', ');
  run.reporter.emit({ type: 'warn', code: 'FILES_SKIPPED', item: out.docId!, message: `${out.skipped.length} file(s) skipped (${counts}); paths and reasons are in manifest.json` });
}

function warnOversize(run: PipelineRun, out: SourceOutcome): void {
  run.reporter.emit({ type: 'warn', code: out.oversize!.code, item: out.docId!, message: out.oversize!.message });
}

/**
 * A source answered by its memo (source-memo.ts): the warnings its chain gave, and the LLM
 * calls it answered (counted as cached), as when the chain answers item by item.
 */
function replaySource(run: PipelineRun, o: SourceOutcome, decision: SourceDecision | undefined, tallies: Record<string, number>): void {
  if (decision?.skipSource) return warnSkippedSource(run, o, decision);
  warnSkippedFiles(run, o);
  if (o.oversize) warnOversize(run, o);
  replayLlmTallies(run, tallies);
}

/**
 * Document ids: the repository name, made unique by config position where names repeat. Given
 * when the outcomes are assembled, so a version merged from partitions (each seeing only its own
 * sources) names documents exactly as a single-machine build does.
 */
function uniqueDocIds(outcomes: SourceOutcome[]): Map<number, string[]> {
  const count = new Map<string, number>();
  for (const o of outcomes) if (o.docs?.length) count.set(o.docId!, (count.get(o.docId!) ?? 0) + 1);
  const ids = new Map<number, string[]>();
  for (const o of outcomes) {
    if (!o.docs?.length) continue;
    const base = (count.get(o.docId!) ?? 0) > 1 ? `${o.docId}~${o.index}` : o.docId!;
    // Parts of one repository: <id>#1, <id>#2, ... in order.
    ids.set(o.index, o.docs.length > 1 ? o.docs.map((_, k) => `${base}#${k + 1}`) : [base]);
  }
  return ids;
}

/** Which partition of `count` builds a source: a stable hash of how it is configured, so adding a source moves no other. */
export function partitionOf(spec: SourceConfig, count: number): number {
  return parseInt(hashText(canonicalJson(spec)).slice(0, 8), 16) % count;
}

/** Build the given sources (config indices) up to their tokenized documents. */
async function buildSources(run: PipelineRun, indices: number[]): Promise<SourceOutcome[] | undefined> {
  const cfg = run.loaded.config;
  const settings = resolveSettings(cfg);
  const tokenizerId = await llama3TokenizerId();
  // Hygiene's signature pass sees every source (not only this partition's), so every partition
  // takes the same dedup / license / decontamination decisions as a single machine.
  // A source's decision needs only the scans of the sources before it (decisionsInOrder): its
  // chain starts then, while later sources are still being scanned.
  run.reporter.emit({ type: 'phase', name: 'hygiene' });
  const hygiene = scanSources(run, settings.limits);
  // Nothing of the pass outlives the build: every scan is waited for. Only its settling is kept
  // here, not its value: a scan (every file's path, hash and signatures) is let go once its
  // source is decided, so the pass's results never sit in memory for the whole corpus at once.
  const scanned = Promise.all(hygiene.scans.map((p) => p.then(noValue, noValue)));
  try {
    const decisions = decisionsInOrder(hygiene.scans, hygiene.settings);
    hygiene.scans = [];
    if (run.mode === 'status') countHygieneDrops(run, indices, new Map((await Promise.all(decisions)).map((d, i) => [i, d])));
    return await buildDecided(run, settings, indices, decisions, tokenizerId);
  } finally {
    await scanned;
  }
}

const noValue = (): undefined => undefined;

async function buildDecided(
  run: PipelineRun,
  settings: ResolvedSettings,
  indices: number[],
  decisions: ReadonlyArray<Promise<SourceDecision>>,
  tokenizerId: string,
): Promise<SourceOutcome[] | undefined> {
  const cfg = run.loaded.config;
  run.reporter.emit({ type: 'phase', name: 'building' });
  run.reporter.emit({ type: 'plan', unit: 'repositories', total: indices.length });
  const flight = inFlight(run.pool.threads);
  const stageVersions = Object.fromEntries(stages.map((st) => [st.name, st.version]));
  let stale = false;
  const outcomes = await Promise.all(
    indices.map(async (index) => {
      const decision = await decisions[index]!;
      // Admitted in config order while the sources in flight hold less than their byte budget.
      await flight.sources.take(0);
      let held = 0;
      const hold = (n: number): void => {
        held += n;
        flight.sources.grow(n);
      };
      try {
        const o: SourceOutcome = { index, spec: cfg.sources[index], skipped: [] };
        const where = describeSource(o.spec, o.index);
        o.license = decision?.license;
        o.licenseFrom = decision?.licenseFrom;
        o.hygiene = summarize(decision);
        // A source-level problem is named by its place in the config (`sources[2] repos/x`);
        // failures of a stage item were recorded by the executor under that item.
        const r = await run.exec.attempt(
          'ingest',
          where,
          async () => {
            // The repository's chain, on an outcome of its own: what it sets is what the memo keeps.
            // Its items run through `exec`, the executor of the memo around it (chain-run.ts).
            const chain = async (exec: Executor): Promise<SourceResult> => {
              const crun = chainRun(run, exec);
              const c: SourceOutcome = { index, spec: o.spec, skipped: [] };
              const result = (): SourceResult => {
                const { index: _i, spec: _s, ...r } = c;
                return r;
              };
              try {
                if (run.mode !== 'status' && !run.recheck) warmTokenizer(run.pool);
                const src = await openSource(o.spec, run.loaded.dir, settings.limits, run.writes);
                c.identity = src.identity;
                c.docId = src.identity.name;
                await processSource(crun, settings, tokenizerId, src, c, decision, flight, hold);
              } catch (err) {
                if (c.docId) searchRecordsOf(run, c.docId); // the search records of a failed source go nowhere
                Object.assign(o, result()); // a failed source is still named in the manifest
                throw err;
              }
              const search = searchRecordsOf(run, c.docId);
              if (c.docs) c.search = search;
              return result();
            };
            // Where the stat memo misses, the content memo (one lookup, shared by a remote cache)
            // before the chain itself; what it answers is stored under the stat key too.
            const byContent = async (exec: Executor): Promise<SourceResult> => {
              const input = await sourceContentInput(run, index, o.spec, where, decision, tokenizerId, stageVersions, settings.limits, chain);
              if (!input) return chain(exec);
              const c = await exec.memo(sourceContentMemoStage, input);
              const value = c.value as SourceResult;
              // Replayed through `exec`: the stat memo around keeps the tallies too.
              if (c.cached) replaySource(chainRun(run, exec), { ...o, ...value }, decision, c.tallies);
              return value;
            };
            const memo = sourceMemoInput(run, index, o.spec, where, decision, tokenizerId, stageVersions, byContent);
            if (!memo) return void Object.assign(o, await chain(run.exec));
            const m = await run.exec.memo(sourceMemoStage, memo);
            Object.assign(o, m.value as SourceResult);
            if (m.cached) replaySource(run, o, decision, m.tallies);
          },
          { itemOf: (e) => (e.code.startsWith('SOURCE_') ? where : (e.item ?? where)) },
        );
        if (r.stale) {
          stale = true;
          if (cfg.format === 'trajectory') await estimateLlmCalls(run, o);
        } else if (r.error) {
          o.error = { code: r.error.code, message: r.error.message };
        }
        run.reporter.emit({ type: 'progress', unit: 'repositories' });
        return o;
      } finally {
        flight.sources.give(held);
      }
    }),
  );
  return stale ? undefined : outcomes;
}

/** `retrace status`: what hygiene would leave out of the given sources (estimates `hygiene*`). */
function countHygieneDrops(run: PipelineRun, indices: number[], decisions: Map<number, SourceDecision>): void {
  const e = run.estimates;
  for (const i of indices) {
    const d = decisions.get(i);
    if (!d) continue;
    if (d.skipSource) e.hygieneSourcesDropped = (e.hygieneSourcesDropped ?? 0) + 1;
    for (const s of d.drop.values()) {
      const k = s.code === 'FILE_DUPLICATE' ? 'hygieneDuplicateFiles' : s.code === 'FILE_CONTAMINATED' ? 'hygieneContaminatedFiles' : 'hygieneSecretFilesDropped';
      e[k] = (e[k] ?? 0) + 1;
    }
    for (const f of d.findings.values()) e.hygieneSecretsRedacted = (e.hygieneSecretsRedacted ?? 0) + f.length;
  }
}

/**
 * `retrace status` on a stale trajectory source: an upper bound of the LLM calls a build would
 * make for it (the plan's parts, llm.maxTurns turns per code file, the search's calls per searched
 * Think; the plan parts are estimated from the answer budget alone), counted from
 * the source's file list without computing anything. Calls already cached are not subtracted:
 * whether they still match depends on the plan, which is what is stale.
 */
async function estimateLlmCalls(run: PipelineRun, o: SourceOutcome): Promise<void> {
  const settings = resolveSettings(run.loaded.config);
  let code = 0;
  try {
    const src = await openSource(o.spec, run.loaded.dir, settings.limits, run.writes);
    for await (const f of src.files()) if (languageFor(f.path)) code++;
  } catch {
    return; // status only estimates: a source that cannot be read is reported (coded) by the build itself
  }
  // Per file: at most llm.maxTurns turns, and the search's calls per searched Think (1, or up to maxTurns + 1).
  const search = resolveSearchSettings(run.loaded);
  const llm = resolveLlmSettings(run.loaded);
  const searched = search.enabled ? (search.steps === 'all' ? llm.maxTurns + 1 : 1) * search.candidates * search.iterations : 0;
  const planParts = Math.max(1, Math.ceil(code / filesPerAnswer({ settings: llm })));
  run.estimates.llmCalls = (run.estimates.llmCalls ?? 0) + planParts + code * (llm.maxTurns + searched);
  run.estimates.staleRepositories = (run.estimates.staleRepositories ?? 0) + 1;
}

/** Outcomes of every source, in config order -> shards and the manifest's pins. */
async function assemble(run: PipelineRun, outcomes: SourceOutcome[], llm: LlmSummary): Promise<PipelineOutput> {
  const cfg = run.loaded.config;
  const settings = resolveSettings(cfg);
  const tokenizerId = await llama3TokenizerId();
  const ids = uniqueDocIds(outcomes);
  const hy = resolveHygiene(cfg.hygiene, run.loaded.dir);
  const docs = outcomes.flatMap((o) => (o.docs ?? []).map((d, k) => ({ ...d, id: ids.get(o.index)![k]!, license: o.license ?? NOASSERTION })));
  const out = settings.output;
  // Planned by document identity, encoded in workers, each file written once (stages/shard/).
  const written = await writeShards(run, docs, out);
  const tokens = written.shards.reduce((n, s) => n + s.tokens, 0);
  return {
    documents: docs.length,
    tokens,
    shards: written.shards,
    place: written.place,
    finish: written.finish,
    summary: { llm },
    pins: {
      format: cfg.format,
      sources: outcomes.map((o) => ({
        // Credentials in a git URL never reach the manifest (issue 19).
        source: redactDeep(o.spec),
        kind: o.identity?.kind,
        name: o.identity?.name,
        commit: o.identity?.commit,
        tarballHash: o.identity?.tarballHash,
        document: ids.get(o.index)?.[0],
        documents: (ids.get(o.index)?.length ?? 0) > 1 ? ids.get(o.index) : undefined,
        shape: o.shape,
        snapshot: o.snapshot,
        files: o.files,
        skipped: o.skipped.map((s) => ({ path: s.path, code: s.code, reason: s.reason })),
        excluded: o.error ? { code: o.error.code } : o.oversize ? { code: o.oversize.code } : undefined,
        license: o.license,
        licenseFrom: o.licenseFrom,
        hygiene: o.hygiene,
      })),
      hygiene: hygienePins(hy, hy.decontaminate ? loadBenchmarks(hy.decontaminate.files, hy.decontaminate.ngram) : undefined, outcomes.map((o) => o.hygiene ?? summarize(undefined))),
      stages: Object.fromEntries(stages.filter((s) => !s.memo).map((s) => [s.name, s.version])),
      versions: { parser: parserVersions(outcomes), graph: GRAPH_VERSION, rawLayout: RAW_LAYOUT },
      trajectory: cfg.format === 'trajectory' ? trajectoryPins(run.loaded) : undefined,
      search: searchPins(run.loaded, outcomes.flatMap((o) => o.search ?? [])),
      tokenizer: { ...settings.tokenizer, id: tokenizerId },
      files: settings.limits,
      output: out,
      documents: docs.map((d) => ({ id: d.id, repo: d.repo, text: d.text, tokens: d.tokens, trained: d.trained })),
      shape: versionShape(docs, outcomes.flatMap((o) => (o.shape ? [o.shape] : []))),
    },
    extra: {
      skipped: outcomes.reduce((n, o) => n + o.skipped.length, 0),
      hygiene: outcomes.flatMap((o) => (o.hygiene?.skipped ? [{ source: describeSource(o.spec, o.index), ...o.hygiene.skipped }] : [])),
      excluded: outcomes.filter((o) => o.error).map((o) => ({ source: describeSource(o.spec, o.index), code: o.error!.code, message: o.error!.message })),
      // Left out by the configured policy (trajectory.oversize 'skip'), not by a failure: reported, exit 0.
      oversize: outcomes.filter((o) => o.oversize).map((o) => ({ source: describeSource(o.spec, o.index), code: o.oversize!.code, message: o.oversize!.message })),
    },
  };
}

/**
 * The parser versions of the languages the build's sources contain, by language id: a build
 * pins only what its facts depend on, so registering or editing another language leaves the
 * manifest (and the version id) of a build without it unchanged.
 */
function parserVersions(outcomes: SourceOutcome[]): Record<string, string> {
  const ids = [...new Set(outcomes.flatMap((o) => o.languages ?? []))].sort();
  return Object.fromEntries(ids.map((id) => [id, parserVersionFor(id)]));
}

/** What a partition worker leaves in the shared cache for `merge`. */
interface PartitionResult {
  /** 2: outcomes carry `docs` (a repository's parts), issue 12. */
  format: 2;
  index: number;
  count: number;
  /** Config positions this partition owns. */
  sources: number[];
  outcomes: SourceOutcome[];
}

export const retracePipeline: Pipeline<PipelineConfig> = {
  name: 'retrace',
  stages,
  config: configSection,
  errors: PIPELINE_CODES,
  // The pipeline's code and the CLI that runs it: part of the up-to-date shortcut's stamp.
  codeDirs: [HERE, resolve(HERE, '../cli')],
  replaySummary,
  describeSummary,
  describeManifest,
  datasetCard,
  manifestDiff,
  showAliases: { facts: 'graph' },
  format(stage, value) {
    if (stage === 'graph') return formatRepoGraph(value as RepoGraph);
    if (stage === 'search') return formatStepRecord(value as StepRecord);
    return undefined;
  },
  inputStamp(run) {
    const h = newStamp();
    const sources = run.loaded.config.sources;
    for (let i = 0; i < sources.length; i++) {
      const stamp = sourceStampOf(run.loaded, i, sources[i]!, run.loaded.dir, run.writes);
      if (stamp === undefined) return undefined;
      h.update(`${stamp}\n`);
    }
    const promptsDir = run.loaded.config.llm?.promptsDir;
    try {
      for (const f of resolveHygiene(run.loaded.config.hygiene, run.loaded.dir).decontaminate?.files ?? []) stampPath(h, f);
      if (promptsDir) stampTree(h, resolve(run.loaded.dir, promptsDir));
    } catch {
      return undefined;
    }
    return h.digest('hex');
  },
  warm(_loaded, pool) {
    warmTokenizer(pool);
    if (warmedParsers.has(pool)) return;
    warmedParsers.add(pool);
    pool.run(WARM_TASK, {}, { youngGenerationMb: PARSE_YOUNG_GENERATION_MB }).catch(() => undefined); // the parse and secrets tasks report any failure themselves
  },
  watchPaths(loaded) {
    const paths = loaded.config.sources.flatMap((spec): string[] => {
      if ('dir' in spec) return [resolve(loaded.dir, spec.dir)];
      if ('git' in spec) {
        if (isRemoteGit(spec.git)) return [];
        // Commits move refs in the repository's git folder; a bare repository is that folder.
        const repo = resolve(loaded.dir, spec.git);
        return [existsSync(resolve(repo, '.git')) ? resolve(repo, '.git') : repo];
      }
      return [resolve(loaded.dir, spec.tarball)];
    });
    const promptsDir = loaded.config.llm?.promptsDir;
    if (promptsDir) paths.push(resolve(loaded.dir, promptsDir));
    try {
      paths.push(...(resolveHygiene(loaded.config.hygiene, loaded.dir).decontaminate?.files ?? []));
    } catch {
      // a bad hygiene section: the build reports it
    }
    return paths;
  },
  async run(run: PipelineRun): Promise<PipelineOutput | undefined> {
    const outcomes = await buildSources(run, run.loaded.config.sources.map((_, i) => i));
    return outcomes && assemble(run, outcomes, llmSummary(run));
  },
  async runPartition(run, part) {
    const owned = run.loaded.config.sources.flatMap((spec, i) => (partitionOf(spec, part.count) === part.index ? [i] : []));
    const outcomes = (await buildSources(run, owned))!; // partitions only build (no status mode)
    const result: PartitionResult = { format: 2, index: part.index, count: part.count, sources: owned, outcomes };
    return { result, sources: owned.length, documents: outcomes.reduce((n, o) => n + (o.docs?.length ?? 0), 0), summary: { llm: llmSummary(run) } };
  },
  async merge(run, results) {
    const parts = results as PartitionResult[];
    const old = parts.find((p) => p.format !== 2);
    if (old) {
      throw new RetraceError('PARTITIONS_INCOMPLETE', `partition ${old.index} of ${old.count} was built by an older Retrace (its marker has another format)`, {
        item: `partition ${old.index}/${old.count}`,
        hint: `build partition ${old.index} again with this version`,
      });
    }
    const byIndex = new Map<number, SourceOutcome>();
    for (const p of parts) for (const o of p.outcomes) byIndex.set(o.index, o);
    const outcomes = run.loaded.config.sources.map((spec, i) => {
      const o = byIndex.get(i);
      if (!o || canonicalJson(o.spec) !== canonicalJson(spec)) {
        throw new RetraceError('PARTITIONS_INCOMPLETE', `no partition built ${describeSource(spec, i)}`, {
          item: describeSource(spec, i),
          hint: `build partition ${partitionOf(spec, parts[0]?.count ?? 1)} again with the current config`,
        });
      }
      return o;
    });
    return assemble(run, outcomes, { requests: 0, cached: 0, promptTokens: 0, completionTokens: 0 });
  },
};
