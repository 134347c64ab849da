/**
 * The contract between the engine and a pipeline definition. The engine opens the cache, the
 * worker pool and the executor, hands them to the pipeline, and turns what comes back into a
 * dataset version. The pipeline (stages/pipeline.ts) decides which stages run on which items;
 * the engine knows nothing about repositories or trajectories.
 */
import type { LoadedConfig } from './config.ts';
import type { Executor } from './executor.ts';
import type { ContentHash } from './hash.ts';
import type { TaskPool } from './pool.ts';
import type { Reporter } from './reporter.ts';
import type { StageDef } from './stage.ts';

export interface BlobAccess {
  put(bytes: Uint8Array): Promise<ContentHash>;
  get(hash: ContentHash): Promise<Uint8Array>;
}

export interface PipelineRun {
  loaded: LoadedConfig;
  exec: Executor;
  pool: TaskPool;
  reporter: Reporter;
  blobs: BlobAccess;
  mode: 'build' | 'status';
  signal: AbortSignal;
  /** Stop the build cleanly (e.g. a token budget was reached); finished work stays cached. */
  abort(reason: string): void;
  /**
   * In 'status' mode: what a build would spend, as the pipeline estimates it (e.g. `llmCalls`,
   * an upper bound for repositories whose items are stale). Reported by `retrace status`.
   */
  estimates: Record<string, number>;
  /** Folders the build writes (cache, datasets): never read as input, even inside a source. */
  writes: string[];
}

export interface OutputShard {
  /** File name inside the version folder. */
  file: string;
  /** Content hash of the file's bytes in the cache. */
  blob: ContentHash;
  sha256: string;
  bytes: number;
  rows: number;
  tokens: number;
}

export interface LlmSummary {
  /** Requests sent over the network (retries included). */
  requests: number;
  /** Answers reused from the cache. */
  cached: number;
  promptTokens: number;
  completionTokens: number;
  [k: string]: unknown;
}

export interface PipelineOutput {
  documents: number;
  tokens: number;
  shards: OutputShard[];
  /** Everything the manifest pins besides the shards (sources, stages, tokenizer, settings...). */
  pins: Record<string, unknown>;
  llm: LlmSummary;
  /** Extra summary fields for --json (skipped files, excluded sources...). */
  extra?: Record<string, unknown>;
}

export interface PartitionRun {
  /** Stored as the partition's marker; handed back to `merge`. */
  result: unknown;
  sources: number;
  documents: number;
  llm: LlmSummary;
}

export interface Pipeline {
  /** Every stage, in dependency order: for status, explain and docs. */
  readonly stages: ReadonlyArray<StageDef<any, any>>;
  run(run: PipelineRun): Promise<PipelineOutput>;
  /**
   * A stat stamp of every input the pipeline reads (sources, prompt folders), or undefined when
   * one cannot be taken cheaply. Equal stamps let the engine skip a build that would compute
   * nothing (see build.ts); anything else falls back to the content-addressed build.
   */
  inputStamp?(run: PipelineRun): string | undefined;
  /**
   * Scale-out: build only partition `index` of `count` (each source belongs to exactly one) and
   * return a JSON-serialisable result; the engine stores it in the cache as the partition's
   * completion marker.
   */
  runPartition?(run: PipelineRun, part: { index: number; count: number }): Promise<PartitionRun>;
  /** Assemble the dataset from every partition's result, computing no upstream item. */
  merge?(run: PipelineRun, results: unknown[]): Promise<PipelineOutput>;
  /**
   * Readable print of a stage's cached output for `retrace show <stage> <item>` (e.g. the
   * repository facts of the graph stage); stages without a formatter are printed as JSON.
   */
  format?(stage: string, value: unknown): string | undefined;
  /** Aliases for `retrace show`: e.g. `facts` -> `graph`. */
  readonly showAliases?: Record<string, string>;
}
