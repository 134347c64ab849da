/**
 * pipeline.config.ts: its types, `defineConfig` (an identity helper that gives them), loading at
 * run time (TypeScript through tsx, or a plain `export default {...}` that imports nothing), and
 * validation that names the config path of every bad value. Relative paths resolve against the
 * config file's folder.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RetraceError } from './errors.ts';
import { readHygieneConfig } from '../stages/hygiene/config.ts';

export * from './config-types.ts';
import type { PipelineConfig } from './config-types.ts';

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
    mod = await importConfigModule(path);
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

/**
 * Load a TypeScript or JavaScript config as ESM wherever it lives. Fast path: esbuild bundles it
 * with its relative imports in memory and it is imported from a data: URL (a few ms). A config
 * that imports packages needs real module resolution from its folder: tsx's tsImport loads it
 * (~100 ms more).
 */
async function importConfigModule(path: string): Promise<{ default?: unknown }> {
  const { build } = await import('esbuild');
  let bundled: { code: string; bare: boolean } | undefined;
  try {
    const r = await build({ entryPoints: [path], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
    const bare = Object.values(r.metafile!.inputs).some((i) => i.imports.some((x) => x.external && !x.path.startsWith('node:')));
    bundled = { code: r.outputFiles![0].text, bare };
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { line: number; column: number } }> }).errors;
    if (errors?.length) {
      const e = errors[0];
      throw new RetraceError('CONFIG_LOAD_FAILED', `${e.text}${e.location ? ` (line ${e.location.line}, column ${e.location.column})` : ''}`, {
        item: path,
        hint: 'fix the syntax; the file must `export default defineConfig({...})` or `export default {...}`',
      });
    }
    throw err;
  }
  if (!bundled.bare) return (await import('data:text/javascript;base64,' + Buffer.from(bundled.code).toString('base64'))) as { default?: unknown };
  // tsImport loads the file as ESM wherever it lives (a .ts file outside any package with
  // "type": "module" would otherwise be compiled as CommonJS).
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
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
            prefetch: bool,
          },
          ['url'],
        ),
      }),
      hygiene: (v, at) => void readHygieneConfig(v, at, file),
      workers: int(1, 256),
      partitions: int(1, 1_000_000),
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
