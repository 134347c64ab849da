/**
 * pipeline.config.ts: its types, `defineConfig` (an identity helper that gives them), loading at
 * run time (TypeScript through tsx, or a plain `export default {...}` that imports nothing), and
 * validation that names the config path of every bad value. Relative paths resolve against the
 * config file's folder.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { RetraceError } from './errors.ts';

export type SourceConfig = { dir: string } | { git: string; rev?: string } | { tarball: string };

export interface LlmEndpointConfig {
  /** OpenAI-compatible base URL, e.g. https://api.openai.com/v1 or http://localhost:8000/v1. */
  baseURL: string;
  model: string;
  /** Name of the environment variable that holds the API key (never the key itself). */
  apiKeyEnv?: string;
  timeoutMs?: number;
  maxRetries?: number;
  maxConcurrency?: number;
}

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
}

export function defineConfig(config: PipelineConfig): PipelineConfig {
  return config;
}

export interface LoadedConfig {
  config: PipelineConfig;
  /** Absolute path of the config file; relative paths resolve against its folder. */
  path: string;
  dir: string;
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new RetraceError('CONFIG_NOT_FOUND', 'no pipeline config here', {
      item: path,
      hint: 'run retrace from a folder holding pipeline.config.ts, or pass --config FILE',
    });
  }
  let mod: { default?: unknown };
  try {
    // tsImport loads the file as ESM wherever it lives (a .ts file outside any package with
    // "type": "module" would otherwise be compiled as CommonJS).
    mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  } catch (err) {
    throw new RetraceError('CONFIG_LOAD_FAILED', `cannot load the config: ${(err as Error).message}`, {
      item: path,
      hint: 'the file must be valid TypeScript/JavaScript with `export default defineConfig({...})` or `export default {...}`',
      cause: err,
    });
  }
  // A .ts file outside an ESM package is compiled as CommonJS: its default export arrives wrapped.
  let value = mod.default;
  if (value && typeof value === 'object' && 'default' in value && !('name' in value)) value = (value as { default: unknown }).default;
  const config = validateConfig(value, path);
  return { config, path, dir: dirname(path) };
}

type Check = (v: unknown, at: string) => void;

/** Validate an unknown value as a PipelineConfig; every error names the path of the bad value. */
export function validateConfig(value: unknown, file = 'pipeline.config.ts'): PipelineConfig {
  const bad = (at: string, msg: string): never => {
    throw new RetraceError('CONFIG_INVALID', msg, { item: `${file} → ${at}`, hint: 'fix the value in the config file; see README "Configuration"' });
  };
  const obj = (allowed: Record<string, Check>, required: string[] = []): Check => (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(at, `expected an object, got ${describe(v)}`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!(k in allowed)) bad(`${at}.${k}`, `unknown key (known: ${Object.keys(allowed).join(', ')})`);
      if (o[k] !== undefined) allowed[k](o[k], `${at}.${k}`);
    }
    for (const k of required) if (o[k] === undefined) bad(`${at}.${k}`, 'is required');
  };
  const str: Check = (v, at) => {
    if (typeof v !== 'string' || v.length === 0) bad(at, `expected a non-empty string, got ${describe(v)}`);
  };
  const bool: Check = (v, at) => {
    if (typeof v !== 'boolean') bad(at, `expected true or false, got ${describe(v)}`);
  };
  const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, at) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(at, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  };
  const num = (min: number, max: number): Check => (v, at) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(at, `expected a number from ${min} to ${max}, got ${describe(v)}`);
  };
  const oneOf = (...opts: string[]): Check => (v, at) => {
    if (typeof v !== 'string' || !opts.includes(v)) bad(at, `expected one of ${opts.map((o) => `'${o}'`).join(', ')}, got ${describe(v)}`);
  };
  const endpoint = obj(
    { baseURL: str, model: str, apiKeyEnv: str, timeoutMs: int(1), maxRetries: int(0, 100), maxConcurrency: int(1, 1024) },
    ['baseURL', 'model'],
  );
  const source: Check = (v, at) => {
    if (typeof v !== 'object' || v === null) bad(at, `expected { dir }, { git, rev } or { tarball }, got ${describe(v)}`);
    const o = v as Record<string, unknown>;
    if ('dir' in o) obj({ dir: str }, ['dir'])(v, at);
    else if ('git' in o) obj({ git: str, rev: str }, ['git'])(v, at);
    else if ('tarball' in o) obj({ tarball: str }, ['tarball'])(v, at);
    else bad(at, `expected { dir }, { git, rev } or { tarball }, got keys ${Object.keys(o).join(', ') || '(none)'}`);
  };
  const sources: Check = (v, at) => {
    if (!Array.isArray(v)) bad(at, `expected a list of sources, got ${describe(v)}`);
    const list = v as unknown[];
    if (list.length === 0) bad(at, 'needs at least one source');
    list.forEach((s, i) => source(s, `${at}[${i}]`));
  };
  obj(
    {
      name: (v, at) => {
        str(v, at);
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v as string)) bad(at, 'use letters, digits, ".", "_" and "-" only (it names a folder)');
      },
      sources,
      format: oneOf('raw', 'trajectory'),
      files: obj({ maxFileBytes: int(1), maxLineLength: int(1) }),
      llm: obj({ provider: oneOf('offline', 'openai'), endpoint, temperature: num(0, 2), maxTokens: int(1), tokenBudget: int(1), promptsDir: str }),
      search: obj({
        enabled: bool,
        candidates: int(1, 64),
        iterations: int(0, 64),
        scorer: obj({ provider: oneOf('offline', 'openai'), endpoint, contextTokens: int(16) }),
      }),
      tokenizer: obj({ name: oneOf('llama3'), bos: int(0, 2 ** 31 - 1), eos: int(0, 2 ** 31 - 1) }),
      output: obj({
        layout: oneOf('documents', 'packed'),
        format: oneOf('parquet', 'arrow'),
        compression: oneOf('zstd', 'snappy', 'none'),
        seqLen: int(16),
        lastPartial: oneOf('drop', 'pad', 'keep'),
        padId: int(0, 2 ** 31 - 1),
        shardTokens: int(1),
        rowGroupRows: int(1),
      }),
      cache: obj({
        dir: str,
        salt: str,
        remote: obj(
          {
            url: (v, at) => {
              str(v, at);
              if (!/^(https?:\/\/[^/]|file:\/\/\/)/i.test(v as string)) bad(at, `expected http(s)://host/path or file:///absolute/path, got ${describe(v)}`);
            },
            mode: oneOf('read-write', 'read-only', 'off'),
            tokenEnv: str,
            signingKeyEnv: str,
            requireSignatures: bool,
            timeoutMs: int(1),
            maxConcurrency: int(1, 1024),
            maxRetries: int(0, 100),
          },
          ['url'],
        ),
      }),
      workers: int(1, 256),
    },
    ['name', 'sources', 'format'],
  )(value, 'config');
  const c = value as PipelineConfig;
  if (c.llm?.provider === 'openai' && !c.llm.endpoint) bad('config.llm.endpoint', "is required when llm.provider is 'openai'");
  if (c.cache?.remote?.requireSignatures && !c.cache.remote.signingKeyEnv) bad('config.cache.remote.signingKeyEnv', 'is required when cache.remote.requireSignatures is true');
  if (c.search?.scorer?.provider === 'openai' && !c.search.scorer.endpoint) bad('config.search.scorer.endpoint', "is required when search.scorer.provider is 'openai'");
  return c;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
