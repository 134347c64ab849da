/**
 * The config file: loading at run time (TypeScript bundled in memory by esbuild, cached by the
 * content of its files, or through tsx; a plain `export default {...}` that imports nothing works too), the engine's own keys (`name`,
 * `cache`, `workers`, `partitions`) and their validation. Everything else in the file is the
 * pipeline's section: the pipeline declares its keys and checks (`ConfigSection`), and the engine
 * runs them, so every bad value is named by its config path either way. Relative paths resolve
 * against the config file's folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RetraceError } from './errors.ts';
import { checkKit, describeValue, type Check, type CheckKit } from './validate.ts';

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

/** The keys of a config that the engine itself reads. */
export interface EngineConfig {
  /** Dataset name: output goes to datasets/<name>/<version>/. */
  name: string;
  cache?: {
    /** Default: <project>/cache, or --cache-dir. */
    dir?: string;
    /** Changing the salt disowns every cached result written under another one. */
    salt?: string;
    /** A shared tier behind the local one (README "Sharing the cache"). */
    remote?: RemoteCacheConfig;
  };
  /** Worker threads for CPU work (parsing, tokenization). Default: the machine's cores. */
  workers?: number;
  /** Scale-out: how many partitions `build --shard auto` and `merge` assume when not told. */
  partitions?: number;
}

/** A pipeline's part of the config: its top-level keys with their checks, and cross-field rules. */
export interface ConfigSection<C extends EngineConfig> {
  /** Checks of the pipeline's own top-level keys, in the order `unknown key` messages list them. */
  keys(kit: CheckKit): Record<string, Check>;
  required: string[];
  /** Rules across fields, run once the shape is valid (`kit.bad` to reject). */
  refine?(config: C, kit: CheckKit): void;
}

/** Engine keys only: for commands that need the cache folder but no pipeline (the rest is not checked). */
export const ENGINE_ONLY: ConfigSection<EngineConfig> = { keys: () => ({}), required: [] };

export interface LoadedConfig<C extends EngineConfig = EngineConfig> {
  config: C;
  /** Absolute path of the config file; relative paths resolve against its folder. */
  path: string;
  dir: string;
}

export async function loadConfig<C extends EngineConfig>(file: string, section: ConfigSection<C>): Promise<LoadedConfig<C>> {
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
  const config = validateConfig(value, section, path);
  return { config, path, dir: dirname(path) };
}

/**
 * Load a TypeScript or JavaScript config as ESM wherever it lives. esbuild bundles it with its
 * relative imports in memory and it is imported from a data: URL. A config that imports packages
 * needs real module resolution from its folder: tsx's tsImport loads it (~100 ms more).
 * Starting esbuild's service costs more than the rest of a no-op build, so the compiled config is
 * cached (compiledConfig below): a config whose files are unchanged, byte for byte, is imported
 * without esbuild.
 */
async function importConfigModule(path: string): Promise<{ default?: unknown }> {
  const bundled = readCompiled(path) ?? (await compileConfig(path));
  if (!bundled.bare) return (await import('data:text/javascript;base64,' + Buffer.from(bundled.code).toString('base64'))) as { default?: unknown };
  // tsImport loads the file as ESM wherever it lives (a .ts file outside any package with
  // "type": "module" would otherwise be compiled as CommonJS).
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
}

interface CompiledConfig {
  /** The bundled ESM code. */
  code: string;
  /** It imports packages (bare specifiers): loaded through tsx instead. */
  bare: boolean;
  /** Every file bundled into it (the config and its relative imports) with its SHA-256. */
  inputs: Array<{ path: string; sha256: string }>;
}

/**
 * Compiled configs, one file per config path (named by the path's hash) beside the CLI bundles:
 * <project>/dist/config/. An entry is used only if every input file still has the same content.
 */
const COMPILED_DIR = fileURLToPath(new URL('../dist/config/', import.meta.url));

const compiledPath = (path: string): string => join(COMPILED_DIR, `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function readCompiled(path: string): CompiledConfig | undefined {
  let entry: CompiledConfig;
  try {
    entry = JSON.parse(readFileSync(compiledPath(path), 'utf8')) as CompiledConfig;
  } catch {
    return undefined; // none yet, or a partial/foreign file: compile again (and replace it)
  }
  if (typeof entry?.code !== 'string' || !Array.isArray(entry.inputs) || entry.inputs.length === 0) return undefined;
  for (const input of entry.inputs) {
    try {
      if (sha256(input.path) !== input.sha256) return undefined;
    } catch {
      return undefined; // an input is gone: compiling again reports it properly
    }
  }
  return entry;
}

let cacheWarned = false;

async function compileConfig(path: string): Promise<CompiledConfig> {
  const { build } = await import('esbuild');
  let compiled: CompiledConfig;
  try {
    const r = await build({ entryPoints: [path], bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.entries(r.metafile!.inputs);
    const bare = inputs.some(([, i]) => i.imports.some((x) => x.external && !x.path.startsWith('node:')));
    // metafile paths are relative to the working directory (esbuild's default absWorkingDir).
    compiled = { code: r.outputFiles![0].text, bare, inputs: inputs.map(([p]) => ({ path: resolve(p), sha256: sha256(resolve(p)) })) };
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
  const file = compiledPath(path);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(COMPILED_DIR, { recursive: true });
    writeFileSync(tmp, JSON.stringify(compiled));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    // The config loads either way; only the next start is slower. Say so once.
    if (!cacheWarned) process.stderr.write(`warning CONFIG_CACHE_FAILED ${file}: ${(err as Error).message}; the config is compiled on every start (slower)\n`);
    cacheWarned = true;
  }
  return compiled;
}

/**
 * Validate an unknown value as the engine's keys plus the pipeline's section; every error names
 * the path of the bad value. With `ENGINE_ONLY`, keys the engine does not know are left alone.
 */
export function validateConfig<C extends EngineConfig>(value: unknown, section: ConfigSection<C>, file = 'pipeline.config.ts'): C {
  const kit = checkKit(file);
  const { bad, obj, str, bool, int, oneOf } = kit;
  const own = section.keys(kit);
  const engine: Record<string, Check> = {
    cache: obj({
      dir: str,
      salt: str,
      remote: obj(
        {
          url: (v, at) => {
            str(v, at);
            if (!/^(https?:\/\/[^/]|file:\/\/\/)/i.test(v as string)) bad(at, `expected http(s)://host/path or file:///absolute/path, got ${describeValue(v)}`);
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
    workers: int(1, 256),
    partitions: int(1, 1_000_000),
  };
  const name: Check = (v, at) => {
    str(v, at);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v as string)) bad(at, 'use letters, digits, ".", "_" and "-" only (it names a folder)');
  };
  let checked = value;
  if (section === (ENGINE_ONLY as unknown) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const known = new Set(['name', ...Object.keys(engine)]);
    checked = Object.fromEntries(Object.entries(value).filter(([k]) => known.has(k)));
  }
  obj({ name, ...own, ...engine }, ['name', ...section.required])(checked, 'config');
  const c = value as C;
  if (c.cache?.remote?.requireSignatures && !c.cache.remote.signingKeyEnv) bad('config.cache.remote.signingKeyEnv', 'is required when cache.remote.requireSignatures is true');
  section.refine?.(c, kit);
  return c;
}
