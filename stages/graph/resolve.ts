/**
 * The JavaScript resolver. Maps an import specifier to a repository file, the way Node and bundlers do: relative paths with
 * extension and index probing (bundler style, also for ESM), Node builtins, self-references by
 * the root package's name through "exports" or "main", '#' imports through "imports", and
 * everything else as an external package. Only the root package.json is known.
 */
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import type { ImportKind } from '../parse/facts.ts';
import { resolveExportsMap, resolveImportsMap, type MapResult } from './package-map.ts';
import type { UnresolvedReason } from './types.ts';

/** Probed in this order after the exact path, then as `index` + extension inside a directory. */
export const PROBE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.jsx', '.json'] as const;

const BUILTINS = new Set(builtinModules);

export type Resolution =
  | { type: 'file'; path: string }
  | { type: 'builtin'; name: string }
  | { type: 'package'; name: string }
  | { type: 'unresolved'; reason: UnresolvedReason; detail?: string };

export interface RootPackage {
  name?: string;
  main?: string;
  exports?: unknown;
  imports?: unknown;
}

export interface Resolver {
  resolve(from: string, specifier: string, kind: ImportKind): Resolution;
}

export function createResolver(files: ReadonlySet<string>, packageJson: unknown): Resolver {
  const pkg = rootPackage(packageJson);
  const dirs = new Set<string>();
  for (const f of files) for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) dirs.add(d);

  /** The exact file, then with each extension, then the directory's index file. */
  function probe(path: string): string | undefined {
    if (files.has(path)) return path;
    for (const ext of PROBE_EXTENSIONS) if (files.has(path + ext)) return path + ext;
    const isRoot = path === '';
    if (isRoot && pkg.main) {
      const main = repoPath(pkg.main);
      const viaMain = main !== undefined && main !== '' ? probe(main) : undefined;
      if (viaMain) return viaMain;
    }
    if (isRoot || dirs.has(path)) {
      const index = isRoot ? 'index' : `${path}/index`;
      for (const ext of PROBE_EXTENSIONS) if (files.has(index + ext)) return index + ext;
    }
    return undefined;
  }

  function probed(path: string | undefined, detail: string): Resolution {
    if (path === undefined) return { type: 'unresolved', reason: 'outside-repository', detail };
    const found = probe(path);
    return found ? { type: 'file', path: found } : { type: 'unresolved', reason: 'not-found', detail: path || '.' };
  }

  /** A target from "exports"/"imports": exact, as Node requires; './x' inside the package. */
  function mapped(result: MapResult, notMatched: UnresolvedReason, request: string): Resolution {
    if ('notMatched' in result) return { type: 'unresolved', reason: notMatched, detail: request };
    if ('blocked' in result) return { type: 'unresolved', reason: 'not-exported', detail: request };
    if (!result.target.startsWith('./')) return { type: 'unresolved', reason: 'invalid-specifier', detail: result.target };
    const path = repoPath(result.target);
    if (path === undefined) return { type: 'unresolved', reason: 'outside-repository', detail: result.target };
    return files.has(path) ? { type: 'file', path } : { type: 'unresolved', reason: 'exports-target-missing', detail: path };
  }

  function resolve(from: string, specifier: string, kind: ImportKind): Resolution {
    const conditions = kind === 'require' ? ['require', 'node'] : ['import', 'node'];
    if (specifier === '') return { type: 'unresolved', reason: 'invalid-specifier' };
    if (specifier.startsWith('node:')) return { type: 'builtin', name: specifier.slice(5) };
    if (BUILTINS.has(specifier)) return { type: 'builtin', name: specifier };
    if (isRelative(specifier)) {
      const joined = posix.join(posix.dirname(from), specifier);
      return probed(repoPath(joined), joined);
    }
    if (specifier.startsWith('/')) return { type: 'unresolved', reason: 'absolute-path', detail: specifier };
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(specifier)) return { type: 'unresolved', reason: 'url', detail: specifier };
    if (specifier.startsWith('#')) {
      const result = resolveImportsMap(pkg.imports, specifier, conditions);
      // "#x": "some-package" maps to a dependency, not to a file.
      if ('target' in result && !result.target.startsWith('./')) return resolve(from, result.target, kind);
      return mapped(result, 'imports-not-matched', specifier);
    }
    const name = packageName(specifier);
    if (name === undefined) return { type: 'unresolved', reason: 'invalid-specifier' };
    if (name !== pkg.name) return { type: 'package', name };
    const subpath = '.' + specifier.slice(name.length);
    if (pkg.exports !== undefined) return mapped(resolveExportsMap(pkg.exports, subpath, conditions), 'not-exported', subpath);
    return probed(repoPath(subpath), subpath);
  }

  return { resolve };
}

export function isRelative(s: string): boolean {
  return s === '.' || s === '..' || s.startsWith('./') || s.startsWith('../');
}

/** A normalised repository path ('' is the root), or undefined when it climbs above the root. */
export function repoPath(p: string): string | undefined {
  const n = posix.normalize(p).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../') || n.startsWith('/')) return undefined;
  return n === '.' ? '' : n;
}

/** 'a/b' -> 'a', '@s/a/b' -> '@s/a'. */
export function packageName(specifier: string): string | undefined {
  const parts = specifier.split('/');
  if (specifier.startsWith('@')) return parts.length >= 2 && parts[1] ? `${parts[0]}/${parts[1]}` : undefined;
  return parts[0] || undefined;
}

export function rootPackage(json: unknown): RootPackage {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return {};
  const o = json as Record<string, unknown>;
  return {
    name: typeof o.name === 'string' ? o.name : undefined,
    main: typeof o.main === 'string' ? o.main : undefined,
    exports: o.exports,
    imports: o.imports,
  };
}
