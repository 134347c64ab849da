/**
 * Scale-out: a worker builds one partition of the sources and leaves a completion marker in the
 * (shared) cache; `merge` reads every marker and assembles the version through the same path as
 * a single build, so the result is the same byte for byte.
 */
import type { EngineConfig, LoadedConfig } from '../config.ts';
import { RetraceError } from '../errors.ts';
import type { Failure } from '../executor.ts';
import { hashText, type ActionKey } from '../hash.ts';
import { actionKey, canonicalJson, type KeyParts } from '../key.ts';
import { recordRoot } from '../cache/closure.ts';
import { getEngineRecord, putEngineRecord } from '../cache/records.ts';
import type { Pipeline } from '../pipeline.ts';
import { openSession, type BuildOptions } from './session.ts';
import { runFields, type BuildSummary, type StageTable } from './summary.ts';
import { finishVersion } from './version.ts';

/**
 * The completion marker of partition `index` of `count`: keyed by the config (less where it keeps
 * its cache and how many threads it uses, which cannot change a result), so every machine running
 * the same config finds the same markers in the shared cache.
 */
function partitionKey(loaded: LoadedConfig, index: number, count: number): { key: ActionKey; parts: KeyParts } {
  const { cache: _c, workers: _w, ...config } = loaded.config;
  const parts: KeyParts = { stage: 'partition', version: '1', inputs: { config: hashText(canonicalJson(config)) }, settings: { index, count } };
  return { key: actionKey(parts), parts };
}

export interface PartitionSummary {
  name: string;
  partition: { index: number; count: number };
  /** Sources this partition owns, and the documents it built. */
  sources: number;
  documents: number;
  stages: StageTable;
  failures: Failure[];
  ms: number;
  cacheDir: string;
  [k: string]: unknown;
}

/** Scale-out worker: build one partition of the sources and leave its completion marker. */
export async function runPartition<C extends EngineConfig>(pipeline: Pipeline<C>, opts: BuildOptions & { partition: { index: number; count: number } }): Promise<PartitionSummary> {
  const t0 = performance.now();
  if (!pipeline.runPartition) throw new RetraceError('USAGE', 'this pipeline cannot be partitioned');
  const { index, count } = opts.partition;
  const s = await openSession(pipeline, opts, 'build');
  try {
    const r = await pipeline.runPartition(s.run, { index, count });
    const { key, parts } = partitionKey(s.loaded, index, count);
    await putEngineRecord(s.cache, key, { kind: 'partition', item: `partition ${index}/${count}`, parts, value: r.result, ms: performance.now() - t0 });
    await recordRoot(s.local, `${s.loaded.config.name}.partition-${index}-of-${count}`, hashText(key).slice(0, 16), s.exec.usedKeys);
    await s.remote?.flush();
    return {
      name: s.loaded.config.name,
      partition: { index, count },
      sources: r.sources,
      documents: r.documents,
      ...r.summary,
      ...runFields(s, pipeline, t0),
    };
  } finally {
    await s.close();
  }
}

/** Assemble the version from every partition's marker; says which partitions are missing. */
export async function runMerge<C extends EngineConfig>(pipeline: Pipeline<C>, opts: BuildOptions & { count: number }): Promise<BuildSummary> {
  const t0 = performance.now();
  if (!pipeline.merge) throw new RetraceError('USAGE', 'this pipeline cannot merge partitions');
  const s = await openSession(pipeline, opts, 'build');
  try {
    const results: unknown[] = [];
    const missing: number[] = [];
    for (let index = 0; index < opts.count; index++) {
      const value = await getEngineRecord<unknown>(s.cache, partitionKey(s.loaded, index, opts.count).key);
      if (value === undefined) missing.push(index);
      else results.push(value);
    }
    if (missing.length > 0) {
      throw new RetraceError('PARTITIONS_INCOMPLETE', `${missing.length} of ${opts.count} partitions have not completed: ${missing.join(', ')}`, {
        item: s.loaded.path,
        hint: `run \`retrace build --shard I/${opts.count}\` for I in ${missing.join(', ')} with this config and the same shared cache, then merge again`,
      });
    }
    const out = await pipeline.merge(s.run, results);
    return await finishVersion(s, pipeline, opts, out, t0);
  } finally {
    await s.close();
  }
}
