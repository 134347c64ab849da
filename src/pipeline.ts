/**
 * The contract between the engine and a pipeline definition. The engine loads the config (its
 * own keys plus the pipeline's section), opens the cache, the worker pool and the executor,
 * hands them to the pipeline, and turns what comes back into a dataset version. The pipeline
 * decides which stages run on which items and owns everything domain-specific: its config
 * section, its error codes, the summary fields it adds, and how its manifest is described and
 * compared. The engine imports no pipeline; the CLI hands one to it.
 */
import type { CodeSpec, RetraceError } from './errors.ts';
import type { Manifest } from './dataset.ts';
import type { ConfigSection, EngineConfig, LoadedConfig } from './config.ts';
import type { Executor } from './executor.ts';
import type { ContentHash } from './hash.ts';
import type { TaskPool } from './pool.ts';
import type { Reporter } from './reporter.ts';
import type { StageDef } from './stage.ts';

export interface BlobAccess {
  put(bytes: Uint8Array): Promise<ContentHash>;
  get(hash: ContentHash): Promise<Uint8Array>;
}

export interface PipelineRun<C extends EngineConfig = EngineConfig> {
  loaded: LoadedConfig<C>;
  exec: Executor;
  pool: TaskPool;
  reporter: Reporter;
  blobs: BlobAccess;
  /** 'status': every stage answers from the cache only; stale items are collected by the executor. */
  mode: 'build' | 'status';
  signal: AbortSignal;
  /** Stop the build cleanly, for the pipeline's own coded reason (e.g. a token budget); finished work stays cached. */
  abort(reason: RetraceError): void;
  /**
   * In 'status' mode: what a build would spend, as the pipeline estimates it (e.g. `llmCalls`,
   * an upper bound for repositories whose items are stale). Reported by `retrace status`.
   */
  estimates: Record<string, number>;
  /** Folders the build writes (cache, datasets): never read as input, even inside a source. */
  writes: string[];
  /** The datasets folder versions are written under (`--out`). */
  outDir: string;
  /** `build --recheck`: trust no stat stamp (the pipeline's own memos by stamp included); re-read and re-hash every input. */
  recheck?: boolean;
  /**
   * A stat stamp of the code running the build (engine, pipeline, lockfile: build/code-stamp.ts),
   * undefined when none can be taken: for memos keyed by stat stamps.
   */
  codeStamp(): string | undefined;
}

export interface OutputShard {
  /** File name inside the version folder. */
  file: string;
  /** Content hash of the file's bytes in the cache, when the cache holds them (else `place` puts the file). */
  blob?: ContentHash;
  sha256: string;
  bytes: number;
  rows: number;
  tokens: number;
}

export interface PipelineOutput {
  documents: number;
  tokens: number;
  shards: OutputShard[];
  /** Everything the manifest pins besides the shards (sources, stages, tokenizer, settings...). */
  pins: Record<string, unknown>;
  /** Fields the pipeline adds to the summary, after `shards` (the Retrace pipeline: `llm`). */
  summary: Record<string, unknown>;
  /** Fields the pipeline adds at the end of the summary (skipped files, excluded sources...). */
  extra?: Record<string, unknown>;
  /**
   * Puts a shard's file at `dest` inside the version folder being written (or repaired), replacing
   * what is there; `verify`: the source is checked by SHA-256 first. Without it, the shard's bytes
   * are read from the cache (`blob`).
   */
  place?(shard: OutputShard, dest: string, verify: boolean): Promise<void>;
  /**
   * Called once the version is written: fields the pipeline adds after `shards` (e.g. shard files
   * written vs re-used); the pipeline may tidy up here (e.g. files no version uses any more).
   */
  finish?(): Record<string, unknown>;
}

export interface PartitionRun {
  /** Stored as the partition's marker; handed back to `merge`. */
  result: unknown;
  sources: number;
  documents: number;
  summary: Record<string, unknown>;
}

/** How a pipeline compares the manifest fields it owns (`retrace dataset diff`). */
export interface ManifestDiff {
  /** Top-level manifest fields compared here rather than field by field by the engine (e.g. `documents`). */
  readonly fields: readonly string[];
  /** Sections added to the diff's JSON (e.g. `documents: { added, removed, changed }`). */
  diff(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown>;
  /** Text lines for those sections. */
  format(sections: Record<string, unknown>): string[];
}

export interface Pipeline<C extends EngineConfig = EngineConfig> {
  /** Shown in `--help` and recorded nowhere else. */
  readonly name: string;
  /** Every stage, in dependency order: for status, explain and docs. */
  readonly stages: ReadonlyArray<StageDef<any, any>>;
  /** The pipeline's section of the config: validated and typed by the engine's loader. */
  readonly config: ConfigSection<C>;
  /** The pipeline's error, warning and skip codes (registered at load; see src/errors.ts). */
  readonly errors: Readonly<Record<string, CodeSpec>>;
  /**
   * Folders (absolute) holding the pipeline's code: their stat stamp is part of the up-to-date
   * shortcut, so editing the pipeline never answers a build from the last one.
   */
  readonly codeDirs: readonly string[];
  /**
   * Build every item. In 'status' mode, returns undefined when some item is stale (the rest
   * cannot be answered from the cache); the executor holds the stale items.
   */
  run(run: PipelineRun<C>): Promise<PipelineOutput | undefined>;
  /**
   * A stat stamp of every input the pipeline reads (sources, prompt folders), or undefined when
   * one cannot be taken cheaply. Equal stamps let the engine skip a build that would compute
   * nothing (see build/up-to-date.ts); anything else falls back to the content-addressed build.
   * Taken before the build's session opens (no cache, pool or executor yet): it gets the loaded
   * config and the folders the build writes. Stamps a pipeline memoises per build should be keyed
   * by `loaded`, which the build's run shares.
   */
  inputStamp?(at: Pick<PipelineRun<C>, 'loaded' | 'writes'>): string | undefined;
  /**
   * `build --watch`: the files and folders (absolute) whose change can change the build, the
   * ones `inputStamp` stamps (source folders, archives, local git repositories, prompt folders);
   * the engine adds the config file. A change under any of them starts a build, whose up-to-date
   * check then decides whether anything is computed.
   */
  watchPaths?(loaded: PipelineRun<C>['loaded']): string[];
  /**
   * `build --watch`, once its kept pool is idle after a build: start threads and load in them what
   * the next build's tasks need (parsers, the vocabulary), so the first change does not pay for
   * it. Not awaited and best effort: a task that fails here fails again, reported, when a build
   * runs it.
   */
  warm?(loaded: PipelineRun<C>['loaded'], pool: TaskPool): void;
  /**
   * The summary fields a build answered by the up-to-date shortcut reports, from the fields the
   * last real build reported (e.g. no requests sent, every answer cached).
   */
  replaySummary?(last: Record<string, unknown>): Record<string, unknown>;
  /**
   * Scale-out: build only partition `index` of `count` (each source belongs to exactly one) and
   * return a JSON-serialisable result; the engine stores it in the cache as the partition's
   * completion marker.
   */
  runPartition?(run: PipelineRun<C>, part: { index: number; count: number }): Promise<PartitionRun>;
  /** Assemble the dataset from every partition's result, computing no upstream item. */
  merge?(run: PipelineRun<C>, results: unknown[]): Promise<PipelineOutput>;
  /**
   * Readable print of a stage's cached output for `retrace show <stage> <item>` (e.g. the
   * repository facts of the graph stage); stages without a formatter are printed as JSON.
   */
  format?(stage: string, value: unknown): string | undefined;
  /** Aliases for `retrace show`: e.g. `facts` -> `graph`. */
  readonly showAliases?: Record<string, string>;
  /** Text lines for the fields the pipeline added to a build summary (`retrace build` without --json). */
  describeSummary?(summary: Record<string, unknown>): string[];
  /** Text lines describing a version's manifest pins (`retrace dataset show`). */
  describeManifest?(manifest: Record<string, unknown>): string[];
  /** The dataset card (README.md) written beside the manifest, derived from it alone. */
  datasetCard?(manifest: Manifest): string;
  /** The manifest fields the pipeline compares itself in `retrace dataset diff`. */
  readonly manifestDiff?: ManifestDiff;
}
