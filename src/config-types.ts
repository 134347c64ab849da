/**
 * The types of pipeline.config.ts and `defineConfig`, an identity helper that gives a config its
 * types. Kept free of runtime imports so a config that imports it loads in milliseconds.
 */
import type { EndpointConfig } from './llm/types.ts';
import type { HygieneConfig } from '../stages/hygiene/config.ts';

export type SourceConfig = { dir: string } | { git: string; rev?: string } | { tarball: string };

/** An OpenAI-compatible endpoint: `baseURL`, `model`, `apiKeyEnv?`, `timeoutMs?`, `maxRetries?`, `maxConcurrency?` (src/llm/types.ts). */
export type LlmEndpointConfig = Pick<EndpointConfig, 'baseURL' | 'model' | 'apiKeyEnv' | 'timeoutMs' | 'maxRetries' | 'maxConcurrency'>;

export interface RemoteCacheConfig {
  /** http(s)://host/path (a WebDAV-capable server) or file:///path (a shared directory). */
  url: string;
  /** 'read-write' (default): read, and upload what builds compute; 'read-only'; 'off'. */
  mode?: 'read-write' | 'read-only' | 'off';
  /** Name of the environment variable holding the bearer token (never the token itself). */
  tokenEnv?: string;
  /** Name of the environment variable holding the HMAC key that signs and checks results. */
  signingKeyEnv?: string;
  /** With a signing key, ignore unsigned results (default true). */
  requireSignatures?: boolean;
  timeoutMs?: number;
  maxConcurrency?: number;
  maxRetries?: number;
  /** At build start, fetch in bulk what the last pushed version of this dataset needs (default true). */
  prefetch?: boolean;
}

export interface PipelineConfig {
  /** Dataset name: output goes to datasets/<name>/<version>/. */
  name: string;
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
    /** Folder overriding the prompt files: plan/{system,user}.md, implement/{system,user}.md. Relative to the config file. */
    promptsDir?: string;
  };
  search?: {
    enabled?: boolean;
    /** Alternative thoughts sampled per step and iteration (paper: 2). */
    candidates?: number;
    /** Search iterations (paper: 3). */
    iterations?: number;
    scorer?: { provider?: 'offline' | 'openai'; endpoint?: LlmEndpointConfig; contextTokens?: number };
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
    /** Target tokens per shard file. */
    shardTokens?: number;
    rowGroupRows?: number;
  };
  cache?: {
    /** Default: <project>/cache, or --cache-dir. */
    dir?: string;
    /** Changing the salt disowns every cached result written under another one. */
    salt?: string;
    /** A shared tier behind the local one (README "Sharing the cache"). */
    remote?: RemoteCacheConfig;
  };
  /** Worker threads for parsing and tokenization. Default: the machine's cores. */
  workers?: number;
  /** Data hygiene: dedup, licenses, secrets, decontamination (stages/hygiene/config.ts). */
  hygiene?: HygieneConfig;
  /** Scale-out: how many partitions `build --shard auto` and `merge` assume when not told. */
  partitions?: number;
}

export function defineConfig(config: PipelineConfig): PipelineConfig {
  return config;
}

