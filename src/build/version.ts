/** Writing the version a pipeline produced: shard files and manifest, its closure root, the summary. */
import { join } from 'node:path';
import type { EngineConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import { recordRoot } from '../cache/closure.ts';
import { writeVersion } from '../dataset.ts';
import type { Pipeline, PipelineOutput } from '../pipeline.ts';
import type { BuildOptions, Session } from './session.ts';
import { runFields, type BuildSummary } from './summary.ts';

export async function finishVersion<C extends EngineConfig>(s: Session<C>, pipeline: Pipeline<C>, opts: BuildOptions, out: PipelineOutput, t0: number): Promise<BuildSummary> {
  if (out.shards.length === 0) {
    throw new RetraceError('NOTHING_BUILT', 'the build produced no documents: every source failed or was empty', {
      item: s.loaded.path,
      hint: 'see the errors above; check the sources in the config',
    });
  }
  opts.reporter.emit({ type: 'phase', name: 'writing dataset' });
  const body = { manifestVersion: 1 as const, name: s.loaded.config.name, shards: out.shards.map(({ blob: _b, ...rest }) => rest), ...out.pins };
  const blobOf = new Map(out.shards.map((sh) => [sh.file, sh.blob]));
  const written = await writeVersion(s.outDir, body, (file) => s.run.blobs.get(blobOf.get(file)!), { verifyExisting: opts.recheck });
  for (const file of written.repaired) opts.reporter.emit({ type: 'warn', code: 'DATASET_REPAIRED', item: join(written.path, file), message: 'was missing or damaged; written again from the cache' });
  // What `cache push/pull/export` and gc of pinned versions walk from (local tier only).
  await recordRoot(s.local, s.loaded.config.name, written.manifest.version, s.exec.usedKeys);
  await s.remote?.flush();
  return {
    name: s.loaded.config.name,
    version: written.manifest.version,
    path: written.path,
    documents: out.documents,
    tokens: out.tokens,
    shards: out.shards.length,
    ...out.summary,
    ...runFields(s, pipeline, t0),
    ...out.extra,
  };
}
