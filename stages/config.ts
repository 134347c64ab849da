/**
 * The Retrace pipeline's config: the types of pipeline.config.ts and `defineConfig`, an identity
 * helper that gives a config its types. The engine's keys (`name`, `cache`, `workers`,
 * `partitions`) come from src/config.ts; the rest is this pipeline's section, validated by
 * stages/config-schema.ts. Kept free of runtime imports so a config that imports it loads in
 * milliseconds.
 */
import type { EngineConfig, LoadedConfig as EngineLoadedConfig } from '../src/config.ts';
import type { EndpointConfig } from '../src/llm/types.ts';
import type { HygieneConfig } from './hygiene/config.ts';

export type { EngineConfig, RemoteCacheConfig } from '../src/config.ts';

export type SourceConfig = { dir: string } | { git: string; rev?: string; subdir?: string } | { tarball: string };

/** An OpenAI-compatible endpoint: `baseURL`, `model`, `apiKeyEnv?`, `timeoutMs?`, `maxRetries?`, `maxConcurrency?` (src/llm/types.ts). */
export type LlmEndpointConfig = Pick<EndpointConfig, 'baseURL' | 'model' | 'apiKeyEnv' | 'timeoutMs' | 'maxRetries' | 'maxConcurrency'>;

export interface PipelineConfig extends EngineConfig {
  sources: SourceConfig[];
  /** 'raw': the paper's Raw-Repos baseline; 'trajectory': reconstructed development trajectories. */
  format: 'raw' | 'trajectory';
  files?: {
    /** Files larger than this are skipped (FILE_TOO_LARGE). Default 1 MiB. */
    maxFileBytes?: number;
    /** A line longer than this marks a file as minified (FILE_MINIFIED). Default 5000. */
    maxLineLength?: number;
  };
  llm?: {
    /** 'offline' (default): deterministic, structural, no network. 'openai': an OpenAI-compatible endpoint. */
    provider?: 'offline' | 'openai';
    endpoint?: LlmEndpointConfig;
    temperature?: number;
    maxTokens?: number;
    /** Stop the build cleanly once this many prompt+completion tokens were spent. */
    tokenBudget?: number;
    /** Folder overriding the prompt files: plan/{system,user}.md, implement/{system,user,observation}.md. Relative to the config file. */
    promptsDir?: string;
    /** The generator's context in tokens: every request (prompt + max_tokens) is budgeted to fit (default 8192). */
    contextTokens?: number;
    /** Turns of a file's sub-agent loop (Think + Read, ..., Think + Write), at least 1 (default 6). */
    maxTurns?: number;
  };
  /** Document budget of the trajectory format (stages/render/settings.ts). */
  trajectory?: { maxTokens?: number; oversize?: 'split' | 'skip' };
  search?: {
    enabled?: boolean;
    /** Alternative thoughts sampled per step and iteration (paper: 2). */
    candidates?: number;
    /** Search iterations (paper: 3). */
    iterations?: number;
    scorer?: { provider?: 'offline' | 'openai'; endpoint?: LlmEndpointConfig; contextTokens?: number };
    /** Which Think steps are searched: 'write' (default: the one before each Write) or 'all' (every Think of the loop). */
    steps?: 'write' | 'all';
  };
  tokenizer?: {
    name?: 'llama3';
    /** Pinned explicitly: <|begin_of_text|> = 128000. */
    bos?: number;
    /** Pinned explicitly: <|end_of_text|> = 128001. */
    eos?: number;
  };
  output?: {
    /** 'documents': one row per document; 'packed': fixed-length training sequences. */
    layout?: 'documents' | 'packed';
    format?: 'parquet' | 'arrow';
    compression?: 'zstd' | 'snappy' | 'none';
    /** Tokens per packed sequence (layout 'packed'). */
    seqLen?: number;
    lastPartial?: 'drop' | 'pad' | 'keep';
    padId?: number;
    /** Target (mean) tokens per shard file of the documents layout (bounds: 1/4 to 2x; a larger document is a shard of its own); tokens per packed shard. */
    shardTokens?: number;
    rowGroupRows?: number;
  };
  /** Data hygiene: dedup, licenses, secrets, decontamination (stages/hygiene/config.ts). */
  hygiene?: HygieneConfig;
}

export function defineConfig(config: PipelineConfig): PipelineConfig {
  return config;
}


/** A loaded config of this pipeline (the engine's LoadedConfig, typed with this section). */
export type LoadedConfig = EngineLoadedConfig<PipelineConfig>;

/** A run of this pipeline (the engine's PipelineRun, typed with this config). */
export type PipelineRun = import('../src/pipeline.ts').PipelineRun<PipelineConfig>;
