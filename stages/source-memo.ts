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
import { hashText } from '../src/hash.ts';
import { canonicalJson } from '../src/key.ts';
import { redactDeep } from '../src/redact.ts';
import { defineStage } from '../src/stage.ts';
import type { PipelineConfig, PipelineRun, SourceConfig } from './config.ts';
import type { SourceDecision } from './hygiene/index.ts';
import { sourceStampOf } from './ingest/stamp.ts';
import { trajectoryPins } from './trajectory.ts';

export interface SourceMemoInput<T> {
  /** `sources[i] <where>`: the item, for history and messages. */
  where: string;
  /** The source's stat stamp and the code's. */
  stamp: string;
  code: string;
  /** Digests of the settings the chain reads and of the source's hygiene decision. */
  settings: { chain: string; decision: string; source: unknown };
  chain: () => Promise<T>;
}

export const sourceMemoStage = defineStage<SourceMemoInput<unknown>, unknown>({
  name: 'source',
  version: '1',
  deps: ['ingest', 'parse', 'graph', 'render', 'tokenize'],
  description: "one repository's outcome (documents, graph figures, skipped files), reused while its stat stamp, the code and the settings are unchanged",
  memo: true,
  item: (i) => i.where,
  key: (i) => ({ inputs: { stamp: i.stamp, code: i.code }, settings: i.settings }),
  async run(i) {
    return i.chain();
  },
});

/** The digest of everything besides a source's files that its chain reads: taken once per run. */
const chainDigests = new WeakMap<object, string>();

function chainDigest(run: PipelineRun, tokenizerId: string, stageVersions: Record<string, string>): string {
  let d = chainDigests.get(run);
  if (d === undefined) {
    // Keys only the shard step or the engine reads (output, name, cache, workers, partitions)
    // change no repository's documents.
    const { sources: _s, output: _o, name: _n, cache: _c, workers: _w, partitions: _p, ...rest } = run.loaded.config as PipelineConfig & { partitions?: unknown };
    d = hashText(
      canonicalJson({
        config: rest,
        // Not the folders the build writes (run.writes): the source's stamp leaves them out
        // where they lie inside it, so moving them changes the stamp, not this.
        dir: run.loaded.dir,
        tokenizerId,
        stages: stageVersions,
        // Prompts by content hash, provider, model: what the LLM calls' keys are made of.
        trajectory: run.loaded.config.format === 'trajectory' ? trajectoryPins(run.loaded) : null,
      }),
    );
    chainDigests.set(run, d);
  }
  return d;
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
  chain: () => Promise<T>,
): SourceMemoInput<T> | undefined {
  if (run.recheck) return undefined;
  const stamp = sourceStampOf(run, index, spec, run.loaded.dir, run.writes);
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
