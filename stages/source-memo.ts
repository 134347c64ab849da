/**
 * One repository's whole chain (read, ingest, parse, graph, render or trajectory, tokenize),
 * memoised by what decides every key in it: the source's stat stamp (ingest/stamp.ts: every
 * entry's path, size, mtime, ctime, inode and mode; a local git source's commit; a tarball's
 * stat), a stat stamp of Retrace's own code, the settings the chain reads and the source's
 * hygiene decision (which depends on the other sources). An unchanged repository then costs a
 * stat walk and one lookup instead of reading, hashing and looking up each of its files and
 * items (issue 17: an edit costs what it changes). The executor (Executor.memo) checks that
 * the chain's results are still in the cache, puts their keys in the version's closure and
 * counts them as cached, so a hit is indistinguishable from answering the chain item by item.
 *
 * Not pinned in the manifest (a memo): it changes how fast an outcome is found, never what it
 * is. `--recheck` and sources without a stamp (remote git) run the chain as before.
 */
import { hashText, type ContentHash } from '../src/hash.ts';
import { canonicalJson } from '../src/key.ts';
import { redactDeep } from '../src/redact.ts';
import type { Executor } from '../src/executor.ts';
import { defineStage } from '../src/stage.ts';
import type { PipelineConfig, PipelineRun, SourceConfig } from './config.ts';
import type { SourceDecision } from './hygiene/index.ts';
import { sourceStampOf } from './ingest/stamp.ts';
import { contentDigest, knownDigest, rememberDigest } from './ingest/content.ts';
import { openSource, type FileLimits } from './ingest/sources.ts';
import { LANGUAGES } from './parse/languages/registry.ts';
import { parserVersionFor } from './parse/version.ts';
import { trajectoryPins } from './trajectory.ts';
import { searchPromptHashes } from './search/request.ts';
import { resolveSettings } from './settings.ts';
import { resolveHygiene } from './hygiene/config.ts';

export interface SourceMemoInput<T> {
  /** `sources[i] <where>`: the item, for history and messages. */
  where: string;
  /** The source's stat stamp and the code's. */
  stamp: string;
  code: string;
  /** Digests of the settings the chain reads and of the source's hygiene decision. */
  settings: { chain: string; decision: string; source: unknown };
  chain: Chain<T>;
}

/**
 * A repository's chain: runs its items through `exec`, the executor the memo around it gives
 * (or the build's, where no memo is kept), so they count as the memo's.
 */
export type Chain<T> = (exec: Executor) => Promise<T>;

/** A memo stage over a repository's chain (run by Executor.memo): `inputs` picks its key's inputs. */
function chainMemo<I extends { where: string; settings: Record<string, unknown>; chain: Chain<unknown> }>(name: string, description: string, inputs: (i: I) => Record<string, string>) {
  return defineStage<I, unknown>({
    name,
    // 2: the record's refs name the documents' blobs (valueRefs).
    version: '2',
    deps: ['ingest', 'parse', 'graph', 'render', 'tokenize'],
    description,
    memo: true,
    item: (i) => i.where,
    key: (i) => ({ inputs: inputs(i), settings: i.settings }),
    run: (i, ctx) => {
      if (!ctx.exec) throw new Error(`the ${name} memo ran outside Executor.memo, which gives its chain an executor`);
      return i.chain(ctx.exec);
    },
    valueRefs: documentBlobs,
  });
}

/**
 * The blobs of a repository's outcome that the shard step reads: each document's text, token
 * ids and loss mask. A hit checks them (the chain's tokenize records, which name them too, are
 * only checked to exist), so a remote that lost one makes the memo miss and the chain run.
 */
function documentBlobs(outcome: unknown): ContentHash[] {
  const docs = (outcome as { docs?: Array<{ text: ContentHash; ids: ContentHash; mask: ContentHash }> } | undefined)?.docs ?? [];
  return docs.flatMap((d) => [d.text, d.ids, d.mask]);
}

export const sourceMemoStage = chainMemo<SourceMemoInput<unknown>>('source', "one repository's outcome (documents, graph figures, skipped files), reused while its stat stamp, the code and the settings are unchanged", (i) => ({ stamp: i.stamp, code: i.code }));

/**
 * The same chain keyed by the source's content (ingest/content.ts) instead of stat stamps, and
 * by versions instead of a stamp of the code (every stage's and language parser's version, and
 * CHAIN_VERSION for what the pipeline does between stages): the same on every machine, so a
 * fresh machine sharing a remote cache answers each repository with one lookup after reading
 * and hashing its files. Consulted only where the stat memo misses; a hit is stored under the
 * stat key too.
 */
export interface SourceContentInput<T> {
  where: string;
  content: string;
  settings: { chain: string; decision: string; source: unknown };
  chain: Chain<T>;
}

/** Bump when stages/pipeline.ts changes what a repository's chain gives for the same items. */
export const CHAIN_VERSION = '1';

export const sourceContentMemoStage = chainMemo<SourceContentInput<unknown>>('source-content', "one repository's outcome keyed by its files' content and the versions: what a fresh machine finds on a shared cache", (i) => ({ content: i.content }));

/** The digest of everything besides a source's files that its chain reads: taken once per run. */
const chainDigests = new WeakMap<object, Map<boolean, string>>();

function chainDigest(run: PipelineRun, tokenizerId: string, stageVersions: Record<string, string>, portable = false): string {
  let byKind = chainDigests.get(run);
  if (!byKind) chainDigests.set(run, (byKind = new Map()));
  let d = byKind.get(portable);
  if (d === undefined) {
    // Keys only the shard step or the engine reads (output, name, cache, workers, partitions)
    // change no repository's documents.
    const { sources: _s, output: _o, name: _n, cache: _c, workers: _w, partitions: _p, ...rest } = run.loaded.config as PipelineConfig & { partitions?: unknown };
    const hygiene = resolveHygiene(run.loaded.config.hygiene, run.loaded.dir);
    d = hashText(
      canonicalJson({
        config: rest,
        // The settings as resolved, defaults included (defaults live in code: stages/settings.ts).
        limits: resolveSettings(run.loaded.config).limits,
        // (Not the benchmark files' paths: what they decide is in each source's decision.)
        hygiene: { ...hygiene, decontaminate: hygiene.decontaminate ? { ngram: hygiene.decontaminate.ngram } : null },
        // Not the folders the build writes (run.writes): the source's stamp leaves them out
        // where they lie inside it, so moving them changes the stamp, not this.
        dir: portable ? null : run.loaded.dir,
        tokenizerId,
        stages: stageVersions,
        // Prompts by content hash, provider, model: what the LLM calls' keys are made of.
        trajectory: run.loaded.config.format === 'trajectory' ? trajectoryPins(run.loaded) : null,
        // The search's prompts live with its code (covered by the code's stamp, not by versions).
        searchPrompts: run.loaded.config.format === 'trajectory' ? searchPromptHashes() : null,
        // Portable: versions stand for the code's stamp (the pipeline's own, and every parser's).
        versions: portable ? { chain: CHAIN_VERSION, parsers: LANGUAGES.map((l) => parserVersionFor(l.id)) } : null,
      }),
    );
    byKind.set(portable, d);
  }
  return d;
}

/** The content-keyed memo's input, where the source's content digest is known or can be taken. */
export async function sourceContentInput<T>(
  run: PipelineRun,
  index: number,
  spec: SourceConfig,
  where: string,
  decision: SourceDecision | undefined,
  tokenizerId: string,
  stageVersions: Record<string, string>,
  limits: FileLimits,
  chain: Chain<T>,
): Promise<SourceContentInput<T> | undefined> {
  if (run.recheck) return undefined;
  let content = knownDigest(run, index);
  if (content === undefined) {
    try {
      content = await contentDigest(await openSource(spec, run.loaded.dir, limits, run.writes));
    } catch {
      return undefined; // the chain opens it again and reports what is wrong
    }
    rememberDigest(run, index, content);
  }
  return { where, content, settings: { chain: chainDigest(run, tokenizerId, stageVersions, true), decision: decisionDigest(decision), source: redactDeep(spec) }, chain };
}

function decisionDigest(d: SourceDecision | undefined): string {
  if (!d) return hashText('none');
  const sorted = <V>(m: Map<string, V>): Array<[string, V]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hashText(canonicalJson({ license: d.license ?? null, licenseFrom: d.licenseFrom ?? null, skipSource: d.skipSource ?? null, drop: sorted(d.drop), aliases: sorted(d.aliases), findings: sorted(d.findings) }));
}

/**
 * The memo's input for `sources[index]`, or undefined where there is none to trust: `--recheck`,
 * a source without a stat stamp, code that cannot be stamped.
 */
export function sourceMemoInput<T>(
  run: PipelineRun,
  index: number,
  spec: SourceConfig,
  where: string,
  decision: SourceDecision | undefined,
  tokenizerId: string,
  stageVersions: Record<string, string>,
  chain: Chain<T>,
): SourceMemoInput<T> | undefined {
  if (run.recheck) return undefined;
  const stamp = sourceStampOf(run.loaded, index, spec, run.loaded.dir, run.writes);
  const code = run.codeStamp();
  if (stamp === undefined || code === undefined) return undefined;
  return {
    where,
    stamp,
    code,
    settings: { chain: chainDigest(run, tokenizerId, stageVersions), decision: decisionDigest(decision), source: redactDeep(spec) },
    chain,
  };
}
