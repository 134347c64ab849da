/**
 * The TypeScript resolver (also for TSX), as `tsc` (moduleResolution "bundler"/"node16") and
 * bundlers resolve:
 * - relative specifiers: the exact file, then a JavaScript extension naming its TypeScript source
 *   (`./x.js` -> `x.ts`, `x.tsx`, `x.d.ts`; `.mjs` -> `.mts`; `.cjs` -> `.cts`), then extension
 *   probing (.ts, .tsx, .d.ts, then JavaScript), then a directory's package.json `types`/`main`
 *   and its `index` file;
 * - the nearest tsconfig.json/jsconfig.json's `paths` (longest matching prefix first, each target
 *   in turn) and `baseUrl`, with `extends` applied (configs.ts);
 * - the root package's own name and a workspace's own packages (package.json files of the
 *   repository) through `exports` (conditions types, import, require, node, default), `types`,
 *   `typings`, `main`, then `src/index`/`index`; '#' names through the root's `imports`;
 * - Node builtins; anything else is an external package.
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import type { ImportKind } from '../parse/facts.ts';
import type { Configs, TsOptions } from './configs.ts';
import { resolveExportsMap, resolveImportsMap } from './package-map.ts';
import { isRelative, packageName, repoPath, rootPackage, type Resolution, type Resolver } from './resolve.ts';

const BUILTINS = new Set(builtinModules);
/** Probed after the exact path, in this order (tsc's order, then JavaScript as with allowJs). */
export const TS_PROBE_EXTENSIONS = ['.ts', '.tsx', '.d.ts', '.mts', '.d.mts', '.cts', '.d.cts', '.js', '.jsx', '.mjs', '.cjs', '.json'] as const;
/** A JavaScript extension in a specifier names the TypeScript file that compiles to it. */
const SOURCE_OF: Record<string, string[]> = {
  '.js': ['.ts', '.tsx', '.d.ts'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts', '.d.mts'],
  '.cjs': ['.cts', '.d.cts'],
};

export function createTsResolver(files: ReadonlySet<string>, packageJson: unknown, configs: Configs): Resolver {
  const root = rootPackage(packageJson);
  const dirs = new Set<string>();
  for (const f of files) for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) dirs.add(d);
  const packages = new Map(configs.workspace);
  if (root.name) packages.set(root.name, { dir: '', json: packageJson as Record<string, unknown> });
  const rootJson = packageJson !== null && typeof packageJson === 'object' && !Array.isArray(packageJson) ? (packageJson as Record<string, unknown>) : undefined;
  /** Directories holding a workspace package's package.json (not the root). */
  const packageDirs = new Map([...configs.workspace.values()].map((p) => [p.dir, p.json]));

  function probe(path: string): string | undefined {
    const ext = posix.extname(path);
    for (const src of SOURCE_OF[ext] ?? []) {
      const candidate = path.slice(0, -ext.length) + src;
      if (files.has(candidate)) return candidate;
    }
    if (files.has(path)) return path;
    for (const e of TS_PROBE_EXTENSIONS) if (files.has(path + e)) return path + e;
    if (path === '' || dirs.has(path)) {
      // A directory with a package.json (the root's, or a workspace package's): its entry first.
      const pkgJson = path === '' ? rootJson : packageDirs.get(path);
      if (pkgJson) {
        const viaPkg = packageEntry(path, pkgJson);
        if (viaPkg) return viaPkg;
      }
      const index = path === '' ? 'index' : `${path}/index`;
      for (const e of TS_PROBE_EXTENSIONS) if (files.has(index + e)) return index + e;
    }
    return undefined;
  }

  /** A package's entry: `types`/`typings`, `main`, then src/index and index. */
  function packageEntry(dir: string, json: Record<string, unknown>): string | undefined {
    for (const field of ['types', 'typings', 'main']) {
      const v = json[field];
      if (typeof v !== 'string') continue;
      const p = repoPath(posix.join(dir || '.', v));
      const found = p !== undefined && p !== dir ? probe(p) : undefined;
      if (found) return found;
      // "types": "dist/index.d.ts" (a build output): the source usually mirrors it under src/.
      const m = p?.match(/^(.*?)(?:^|\/)(?:dist|lib|build|out)\/(.*?)(?:\.d)?\.[mc]?[jt]s$/);
      if (m) {
        const src = probe(posix.join(m[1] || '.', 'src', m[2]).replace(/^\.\//, ''));
        if (src) return src;
      }
    }
    for (const index of ['src/index', 'index']) {
      const base = dir ? `${dir}/${index}` : index;
      for (const e of TS_PROBE_EXTENSIONS) if (files.has(base + e)) return base + e;
    }
    return undefined;
  }

  function notFound(path: string): Resolution {
    return { type: 'unresolved', reason: 'not-found', detail: path || '.' };
  }

  function viaTsconfig(from: string, specifier: string): Resolution | undefined {
    const options = nearestProject(from);
    if (!options) return undefined;
    const match = matchPaths(options, specifier);
    if (match) {
      for (const target of match) {
        const found = probe(target);
        if (found) return { type: 'file', path: found };
      }
      return { type: 'unresolved', reason: 'not-found', detail: match.join(' | ') };
    }
    if (options.baseUrl !== undefined) {
      const found = probe(options.baseUrl ? `${options.baseUrl}/${specifier}` : specifier);
      if (found) return { type: 'file', path: found };
    }
    return undefined;
  }

  function nearestProject(from: string): TsOptions | undefined {
    for (let d = posix.dirname(from); ; d = posix.dirname(d)) {
      const key = d === '.' ? '' : d;
      const found = configs.tsProjects.get(key);
      if (found) return found;
      if (key === '') return undefined;
    }
  }

  function viaPackage(name: string, specifier: string, conditions: readonly string[]): Resolution | undefined {
    const pkg = packages.get(name);
    if (!pkg) return undefined;
    const subpath = '.' + specifier.slice(name.length);
    if (pkg.json.exports !== undefined) {
      const r = resolveExportsMap(pkg.json.exports, subpath, conditions);
      if ('target' in r) {
        const p = r.target.startsWith('./') ? repoPath(posix.join(pkg.dir || '.', r.target)) : undefined;
        const found = p !== undefined ? probe(p) ?? probeSourceOf(p) : undefined;
        if (found) return { type: 'file', path: found };
        return { type: 'unresolved', reason: 'exports-target-missing', detail: p ?? r.target };
      }
      if (subpath !== '.') return { type: 'unresolved', reason: 'not-exported', detail: `${name} ${subpath}` };
    }
    if (subpath === '.') {
      const entry = packageEntry(pkg.dir, pkg.json);
      return entry ? { type: 'file', path: entry } : { type: 'unresolved', reason: 'not-found', detail: pkg.dir || '.' };
    }
    const p = repoPath(posix.join(pkg.dir || '.', subpath));
    const found = p !== undefined ? probe(p) ?? probeSourceOf(p) : undefined;
    return found ? { type: 'file', path: found } : notFound(p ?? subpath);
  }

  /** dist/x.js or lib/x.d.ts named by a package map: the source file src/x.ts when it exists. */
  function probeSourceOf(path: string): string | undefined {
    const m = path.match(/^(.*?)(?:^|\/)(?:dist|lib|build|out)\/(.*?)(?:\.d)?\.[mc]?[jt]s$/);
    return m ? probe(posix.join(m[1] || '.', 'src', m[2]).replace(/^\.\//, '')) : undefined;
  }

  function resolve(from: string, specifier: string, kind: ImportKind): Resolution {
    const conditions = kind === 'require' ? ['types', 'require', 'node'] : ['types', 'import', 'node'];
    if (specifier === '') return { type: 'unresolved', reason: 'invalid-specifier' };
    if (specifier.startsWith('node:')) return { type: 'builtin', name: specifier.slice(5) };
    if (isRelative(specifier)) {
      const joined = posix.join(posix.dirname(from), specifier);
      const path = repoPath(joined);
      if (path === undefined) return { type: 'unresolved', reason: 'outside-repository', detail: joined };
      const found = probe(path);
      return found ? { type: 'file', path: found } : notFound(path);
    }
    if (specifier.startsWith('/')) return { type: 'unresolved', reason: 'absolute-path', detail: specifier };
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier)) return { type: 'unresolved', reason: 'url', detail: specifier };
    // tsconfig paths come first: they may map builtin-looking or package names.
    const mapped = viaTsconfig(from, specifier);
    if (mapped) return mapped;
    if (BUILTINS.has(specifier)) return { type: 'builtin', name: specifier };
    if (specifier.startsWith('#')) {
      const r = resolveImportsMap(root.imports, specifier, conditions);
      if ('target' in r && !r.target.startsWith('./')) return resolve(from, r.target, kind);
      if ('target' in r) {
        const p = repoPath(r.target);
        const found = p !== undefined ? probe(p) ?? probeSourceOf(p) : undefined;
        return found ? { type: 'file', path: found } : { type: 'unresolved', reason: 'exports-target-missing', detail: p ?? r.target };
      }
      return { type: 'unresolved', reason: 'blocked' in r ? 'not-exported' : 'imports-not-matched', detail: specifier };
    }
    const name = packageName(specifier);
    if (name === undefined) return { type: 'unresolved', reason: 'invalid-specifier' };
    return viaPackage(name, specifier, conditions) ?? { type: 'package', name };
  }

  return { resolve };
}

/** tsc's rule: an exact pattern, else the '*' pattern with the longest prefix; its targets. */
function matchPaths(options: TsOptions, specifier: string): string[] | undefined {
  let best: { prefix: number; targets: string[] } | undefined;
  for (const { pattern, targets } of options.paths ?? []) {
    const star = pattern.indexOf('*');
    if (star === -1) {
      if (pattern === specifier) return targets;
      continue;
    }
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (!specifier.startsWith(prefix) || !specifier.endsWith(suffix) || specifier.length < prefix.length + suffix.length) continue;
    if (best && best.prefix >= prefix.length) continue;
    const middle = specifier.slice(prefix.length, specifier.length - suffix.length);
    best = { prefix: prefix.length, targets: targets.map((t) => t.replace('*', middle)) };
  }
  return best?.targets;
}
