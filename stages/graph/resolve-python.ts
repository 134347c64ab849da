/**
 * The Python resolver, following Python's import system for the repository's own code:
 * - source roots: the repository root and `src/` (flat and src layouts), plus the roots that
 *   pyproject.toml / setup.cfg name (configs.ts); `a.b` is `<root>/a/b.py`, `<root>/a/b/__init__.py`
 *   (or `.pyi` stubs), or a namespace package directory `<root>/a/b/`;
 * - relative imports (`from . import x`, `from ..a import y`) from the importing file's package;
 *   climbing above the repository is `outside-repository`;
 * - `from pkg import name`: the submodule `pkg/name.py` (or `pkg/name/`) when there is one, else
 *   the package's `__init__.py`, which defines or re-exports the name;
 * - `import a.b.c` depends on the module a.b.c itself;
 * - a top-level name the repository does not have is the standard library (`builtin`) or a
 *   third-party package (`package`). A name the repository does have, but whose submodule is
 *   missing, is `not-found`.
 * An import of its own package from an `__init__.py` (`from . import x` where x is defined there)
 * is not an edge.
 */
import { posix } from 'node:path';
import type { ImportKind } from '../parse/facts.ts';
import type { Configs } from './configs.ts';
import { PYTHON_STDLIB } from './python-stdlib.ts';
import type { Resolution } from './resolve.ts';

export interface PythonImport {
  specifier: string;
  kind: ImportKind;
  names?: readonly string[];
}

export interface PythonResolver {
  resolve(from: string, imp: PythonImport): Resolution[];
}

const MODULE_FILES = ['.py', '/__init__.py', '.pyi', '/__init__.pyi'];

export function createPythonResolver(files: ReadonlySet<string>, configs: Configs): PythonResolver {
  const dirs = new Set<string>();
  for (const f of files) for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) dirs.add(d);

  /** A module file for a path without extension, or the directory of a namespace package. */
  function module(base: string): { file?: string; dir?: string } | undefined {
    for (const suffix of MODULE_FILES) {
      if (files.has(base + suffix)) {
        const file = base + suffix;
        return { file, dir: suffix.startsWith('/') ? base : undefined };
      }
    }
    return base !== '' && dirs.has(base) ? { dir: base } : undefined;
  }

  /**
   * The root where a top-level package or module `top` lives, if the repository has it. A
   * directory without `__init__.py` (a namespace package) loses to a standard-library module of
   * the same name, as on Python's path (a `logging/` folder of notes does not shadow `logging`).
   */
  function rootOf(top: string): string | undefined {
    for (const root of configs.pythonRoots) {
      const base = root ? `${root}/${top}` : top;
      const found = module(base);
      if (found && (found.file || !PYTHON_STDLIB.has(top))) return root;
    }
    return undefined;
  }

  /** The module (and names imported from it) as edges; [] when it is the importer itself. */
  function target(from: string, base: string, names: readonly string[] | undefined, what: string): Resolution[] {
    const found = module(base);
    if (!found) return [{ type: 'unresolved', reason: 'not-found', detail: what }];
    const out = new Map<string, Resolution>();
    const add = (path: string) => path !== from && out.set(path, { type: 'file', path });
    let needsPackage = !names || names.length === 0 || names.includes('*');
    if (found.dir !== undefined) {
      for (const name of names ?? []) {
        if (name === '*') continue;
        const sub = module(`${found.dir}/${name.split('.')[0]}`);
        if (sub?.file) add(sub.file);
        else if (!sub) needsPackage = true;
      }
    } else needsPackage = true;
    if (needsPackage && found.file) add(found.file);
    return [...out.values()];
  }

  function resolve(from: string, imp: PythonImport): Resolution[] {
    const { specifier } = imp;
    const dots = /^\.*/.exec(specifier)![0].length;
    const rest = specifier.slice(dots);
    if (rest !== '' && !/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(rest)) return [{ type: 'unresolved', reason: 'invalid-specifier', detail: specifier }];
    const names = imp.kind === 'py-from' ? imp.names : undefined;
    if (dots > 0) {
      // The package of `from` is its directory; each dot after the first climbs one level.
      let dir = posix.dirname(from);
      for (let i = 1; i < dots; i++) {
        if (dir === '.') return [{ type: 'unresolved', reason: 'outside-repository', detail: specifier }];
        dir = posix.dirname(dir);
      }
      // Climbing to the repository root leaves the top-level package ("beyond top-level package").
      if (dots > 1 && dir === '.') return [{ type: 'unresolved', reason: 'outside-repository', detail: specifier }];
      const pkg = dir === '.' ? '' : dir;
      const base = rest ? (pkg ? `${pkg}/${rest.replaceAll('.', '/')}` : rest.replaceAll('.', '/')) : pkg;
      if (base === '') {
        // `from . import x` at the repository root: the names are sibling modules.
        const out = (names ?? []).flatMap((n) => {
          const m = module(n);
          return m?.file && m.file !== from ? [{ type: 'file' as const, path: m.file }] : [];
        });
        return out.length ? out : [{ type: 'unresolved', reason: 'not-found', detail: specifier }];
      }
      return target(from, base, names, base);
    }
    const top = rest.split('.')[0];
    const root = rootOf(top);
    if (root === undefined) {
      if (PYTHON_STDLIB.has(top) || top.startsWith('_')) return [{ type: 'builtin', name: top }];
      return [{ type: 'package', name: top }];
    }
    const base = (root ? `${root}/` : '') + rest.replaceAll('.', '/');
    return target(from, base, names, base);
  }

  return { resolve };
}
