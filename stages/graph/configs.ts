/**
 * Project files the resolvers read besides the root package.json: `tsconfig.json` (and
 * `jsconfig.json`) with their `extends` chains, the package.json of a workspace's own packages,
 * and Python's pyproject.toml / setup.cfg. Parsed here from their text, inside the graph stage,
 * so a malformed file becomes a recorded problem (configProblems) rather than a failed build.
 */
import { posix } from 'node:path';

export interface ConfigFile {
  /** Repository-relative POSIX path. */
  path: string;
  text: string;
}

/** Which files the pipeline hands the graph stage as configs (besides the root package.json). */
export function isGraphConfigPath(path: string): boolean {
  const base = posix.basename(path);
  if (/^(tsconfig|jsconfig)(\..+)?\.json$/i.test(base)) return true;
  if (path === 'pyproject.toml' || path === 'setup.cfg') return true;
  // A workspace's own packages (packages/x/package.json), not vendored node_modules.
  return base === 'package.json' && path !== 'package.json' && !path.split('/').includes('node_modules');
}

/** JSON with comments and trailing commas, as tsconfig.json is written. */
export function parseJsonc(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      out += ' ';
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/** compilerOptions that change resolution, with paths made repository-relative. */
export interface TsOptions {
  /** Repository directory ('' = root) non-relative names resolve against, if set. */
  baseUrl?: string;
  /** `paths` patterns; targets already joined with their base directory. */
  paths?: Array<{ pattern: string; targets: string[] }>;
}

export interface Configs {
  /** Directory of each tsconfig.json/jsconfig.json -> its effective options (extends applied). */
  tsProjects: Map<string, TsOptions>;
  /** Workspace package name -> its directory and package.json. */
  workspace: Map<string, { dir: string; json: Record<string, unknown> }>;
  /** Python source roots: '' and 'src', plus the ones pyproject.toml / setup.cfg name. */
  pythonRoots: string[];
  /** Files that could not be read, with the reason (shown by `retrace show facts`). */
  problems: Array<{ path: string; problem: string }>;
}

export function readConfigs(configs: readonly ConfigFile[]): Configs {
  const byPath = new Map(configs.map((c) => [c.path, c.text]));
  const problems: Configs['problems'] = [];
  const parsed = new Map<string, Record<string, unknown> | undefined>();
  const json = (path: string): Record<string, unknown> | undefined => {
    if (parsed.has(path)) return parsed.get(path);
    let value: Record<string, unknown> | undefined;
    const text = byPath.get(path);
    if (text !== undefined) {
      try {
        const v = parseJsonc(text);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) value = v as Record<string, unknown>;
        else problems.push({ path, problem: 'not a JSON object' });
      } catch (err) {
        problems.push({ path, problem: `invalid JSON: ${(err as Error).message}` });
      }
    }
    parsed.set(path, value);
    return value;
  };

  const tsProjects = new Map<string, TsOptions>();
  for (const { path } of configs) {
    if (!/^(tsconfig|jsconfig)\.json$/i.test(posix.basename(path))) continue;
    const options = tsOptions(path, json, byPath, problems, new Set());
    tsProjects.set(dirOf(path), options);
  }

  const workspace = new Map<string, { dir: string; json: Record<string, unknown> }>();
  for (const { path } of configs) {
    if (posix.basename(path) !== 'package.json') continue;
    const pkg = json(path);
    if (pkg && typeof pkg.name === 'string' && !workspace.has(pkg.name)) workspace.set(pkg.name, { dir: dirOf(path), json: pkg });
  }

  const roots = new Set(['', 'src']);
  for (const file of ['pyproject.toml', 'setup.cfg']) {
    const text = byPath.get(file);
    if (text !== undefined) for (const r of pythonSourceRoots(text)) roots.add(r);
  }
  return { tsProjects, workspace, pythonRoots: [...roots].sort(), problems };
}

function tsOptions(
  path: string,
  json: (p: string) => Record<string, unknown> | undefined,
  byPath: ReadonlyMap<string, string>,
  problems: Configs['problems'],
  seen: Set<string>,
): TsOptions {
  const config = json(path);
  if (!config || seen.has(path)) return {};
  seen.add(path);
  const dir = dirOf(path);
  let options: TsOptions = {};
  // `extends`: a path or (TypeScript 5) a list; later entries win. Packages are outside the repository.
  const ext = config.extends;
  for (const e of typeof ext === 'string' ? [ext] : Array.isArray(ext) ? ext : []) {
    if (typeof e !== 'string') continue;
    if (!e.startsWith('.')) {
      problems.push({ path, problem: `extends '${e}' (a package): its options are not known` });
      continue;
    }
    let target = posix.normalize(posix.join(dir, e));
    if (!target.endsWith('.json') && byPath.has(target + '.json')) target += '.json';
    if (!byPath.has(target)) {
      problems.push({ path, problem: `extends '${e}': ${target} is not in the repository` });
      continue;
    }
    options = { ...options, ...tsOptions(target, json, byPath, problems, seen) };
  }
  const co = config.compilerOptions as Record<string, unknown> | undefined;
  if (co && typeof co === 'object') {
    if (typeof co.baseUrl === 'string') options.baseUrl = join(dir, co.baseUrl);
    if (co.paths && typeof co.paths === 'object') {
      // Targets are relative to baseUrl when set, else to the config that declares `paths`.
      const base = options.baseUrl ?? dir;
      options.paths = Object.entries(co.paths as Record<string, unknown>).map(([pattern, targets]) => ({
        pattern,
        targets: (Array.isArray(targets) ? targets : []).filter((t): t is string => typeof t === 'string').map((t) => join(base, t)),
      }));
    }
  }
  return options;
}

/**
 * Source roots named by setuptools (`where`, `package-dir` / `package_dir` with the '' key),
 * Poetry (`from`) and Hatch (`packages = ["src/x"]`). Regular expressions over the text, not a
 * TOML/INI parser: these keys are short and written one way in practice.
 */
export function pythonSourceRoots(text: string): string[] {
  const roots = new Set<string>();
  const add = (r: string) => {
    const n = posix.normalize(r.replace(/^["']|["']$/g, '')).replace(/\/+$/, '');
    if (n && n !== '.' && !n.startsWith('..') && !n.startsWith('/')) roots.add(n);
  };
  for (const m of text.matchAll(/^\s*where\s*=\s*\[?([^\]\n]*)/gm)) for (const r of m[1].split(',')) if (r.trim()) add(r.trim());
  for (const m of text.matchAll(/package[-_]dir\s*=\s*\{\s*["']{2}\s*[:=]\s*["']([^"']+)["']/g)) add(m[1]);
  for (const m of text.matchAll(/^\s*package_dir\s*=\s*\n?\s*=\s*(\S+)/gm)) add(m[1]);
  for (const m of text.matchAll(/\bfrom\s*=\s*["']([^"']+)["']/g)) add(m[1]);
  for (const m of text.matchAll(/^\s*packages\s*=\s*\[([^\]]*)\]/gm)) {
    for (const s of m[1].matchAll(/["']([^"']+)\/[^/"']+["']/g)) add(s[1]);
  }
  return [...roots].sort();
}

function dirOf(path: string): string {
  const d = posix.dirname(path);
  return d === '.' ? '' : d;
}

function join(dir: string, rel: string): string {
  const n = posix.normalize(posix.join(dir || '.', rel)).replace(/\/+$/, '');
  return n === '.' ? '' : n;
}
