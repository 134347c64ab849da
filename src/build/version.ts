/** Writing the version a pipeline produced: shard files and manifest, its closure root, the summary. */
import { join } from 'node:path';
import type { EngineConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import { recordRoot } from '../cache/closure.ts';
import { replaceFile, writeVersion, type PartialMark } from '../dataset.ts';
import type { Pipeline, PipelineOutput } from '../pipeline.ts';
import type { BuildOptions, Session } from './session.ts';
import { runFields, sortedFailures, type BuildSummary } from './summary.ts';

export async function finishVersion<C extends EngineConfig>(s: Session<C>, pipeline: Pipeline<C>, opts: BuildOptions, out: PipelineOutput, t0: number): Promise<BuildSummary> {
  if (out.shards.length === 0) {
    throw new RetraceError('NOTHING_BUILT', 'the build produced no documents: every source failed or was empty', {
      item: s.loaded.path,
      hint: 'see the errors above; check the sources in the config',
    });
  }
  const failures = sortedFailures(s.exec);
  if (opts.strict && failures.length > 0) {
    // Everything computed stays cached: a rerun without the failures' causes computes only them.
    throw new RetraceError('BUILD_INCOMPLETE', `${failures.length} item(s) failed; no version was written (--strict)`, {
      item: s.loaded.path,
      hint: `first failure: ${failures[0].stage} ${failures[0].item}: ${failures[0].code}; fix it and build again (what succeeded is cached), or build without --strict for a partial version`,
    });
  }
  opts.reporter.emit({ type: 'phase', name: 'writing dataset' });
  // A partial version says so in its manifest (and so has its own id); complete ones carry no mark.
  const partial: PartialMark | undefined = failures.length > 0 ? { failures: failures.length, items: failures.slice(0, 50).map((f) => `${f.stage} ${f.item}: ${f.code}`) } : undefined;
  const body = { manifestVersion: 1 as const, name: s.loaded.config.name, shards: out.shards.map(({ blob: _b, ...rest }) => rest), ...out.pins, ...(partial ? { partial } : {}) };
  const shardOf = new Map(out.shards.map((sh) => [sh.file, sh]));
  const bytesOf = (file: string) => {
    const blob = shardOf.get(file)!.blob;
    // A pipeline's bug, not a build's condition: it returns `blob` for each shard, or `place`.
    if (!blob) throw new Error(`shard ${file} has neither cached bytes (blob) nor a place() to put its file`);
    return s.run.blobs.get(blob);
  };
  // The pipeline places shard files itself (linked from its store, or re-made) when it can: no copy of the bytes through the cache.
  const place = out.place ? (file: string, dest: string, verify: boolean) => out.place!(shardOf.get(file)!, dest, verify) : undefined;
  const written = await writeVersion(s.outDir, body, bytesOf, {
    place,
    verifyExisting: opts.recheck,
    card: pipeline.datasetCard ? (m) => pipeline.datasetCard!(m) : undefined,
    moveLatest: partial ? opts.latestPartial === true : true,
  });
  for (const file of written.repaired) opts.reporter.emit({ type: 'warn', code: 'DATASET_REPAIRED', item: join(written.path, file), message: 'was missing or damaged; written again from the cache' });
  // What `cache push/pull/export` and gc of pinned versions walk from (local tier only).
  await recordRoot(s.local, s.loaded.config.name, written.manifest.version, s.exec.usedKeys);
  await s.remote?.flush();
  const summary: BuildSummary = {
    name: s.loaded.config.name,
    version: written.manifest.version,
    path: written.path,
    partial: partial !== undefined,
    latest: written.latest,
    documents: out.documents,
    tokens: out.tokens,
    shards: out.shards.length,
    ...out.finish?.(),
    ...out.summary,
    ...runFields(s, pipeline, t0),
    ...out.extra,
  };
  // The last build that wrote this version, for `retrace report` (not part of the version id).
  replaceFile(join(written.path, 'build.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
