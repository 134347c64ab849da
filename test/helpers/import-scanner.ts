/**
 * The independent import scanner of the language acceptance tests (issue 13): regular
 * expressions over the source text, written for the tests, sharing nothing with the product's
 * parser or resolver; plus the repositories those tests use and the order score.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, posix } from 'node:path';

/** TypeScript packages installed with the project that ship their .ts sources. */
export const TS_REPOS = ['piscina', 'flatbuffers', 'apache-arrow'];
/** Python standard-library packages (each copied into a flat layout: <tmp>/<name>/...). */
export const PY_REPOS = ['json', 'email', 'asyncio', 'importlib'];

export function pythonStdlibDir(): string {
  const out = execFileSync('python3', ['-c', 'import json, os; print(os.path.dirname(os.path.dirname(json.__file__)))'], { encoding: 'utf8' });
  return out.trim();
}

/** Copies a standard-library package as a repository (its .py files only, no __pycache__). */
export function pythonRepo(name: string, into: string): string {
  const root = join(into, name);
  cpSync(join(pythonStdlibDir(), name), join(root, name), {
    recursive: true,
    filter: (src) => !src.includes('__pycache__') && !src.endsWith('.pyc'),
  });
  return root;
}

type Edge = [from: string, to: string];

const TS_IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"](\.{1,2}\/[^'"]*|\.{1,2})['"]|require\(\s*['"](\.{1,2}\/[^'"]*|\.{1,2})['"]\s*\)|import\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*\)/g;

/** Relative imports of .ts/.tsx/.mts files, resolved by trying the obvious file names. */
export function scanTypeScript(files: ReadonlySet<string>, read: (p: string) => string): Edge[] {
  const edges: Edge[] = [];
  for (const from of files) {
    if (!/\.(ts|tsx|mts|cts)$/.test(from) || from.endsWith('.d.ts')) continue;
    const text = read(from).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(TS_IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const base = posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\/$/, '');
      const stem = base.replace(/\.(js|mjs|cjs|jsx|ts|tsx)$/, '');
      const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.d.ts`, `${stem}.js`, `${base}/index.ts`, `${base}/index.tsx`, `${base}/index.d.ts`, `${base}/index.js`];
      const to = candidates.find((c) => files.has(c));
      if (to && to !== from) edges.push([from, to]);
    }
  }
  return edges;
}

/** Module-level and indented `import` / `from ... import` lines of .py files. */
export function scanPython(files: ReadonlySet<string>, read: (p: string) => string): Edge[] {
  const tops = new Set([...files].map((f) => f.split('/')[0].replace(/\.py$/, '')));
  const mod = (base: string): string | undefined =>
    [`${base}.py`, `${base}/__init__.py`].find((c) => files.has(c));
  const edges: Edge[] = [];
  for (const from of files) {
    if (!from.endsWith('.py')) continue;
    const text = read(from).replace(/("""|''')[\s\S]*?\1/g, '');
    for (const m of text.matchAll(/^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+\(?([^)\n#]*)/gm)) {
      const [, dots, name, what] = m;
      let base: string;
      if (dots) {
        let dir = posix.dirname(from);
        for (let i = 1; i < dots.length; i++) dir = posix.dirname(dir);
        base = [dir === '.' ? '' : dir, name.replaceAll('.', '/')].filter(Boolean).join('/');
      } else {
        if (!tops.has(name.split('.')[0])) continue;
        base = name.replaceAll('.', '/');
      }
      const names = what.split(',').map((s) => s.trim().split(/\s+/)[0]).filter((s) => /^\w+$/.test(s));
      const subs = names.map((n) => mod(`${base}/${n}`)).filter((x): x is string => !!x);
      const targets = subs.length ? subs : [mod(base)].filter((x): x is string => !!x);
      for (const to of targets) if (to !== from) edges.push([from, to]);
    }
    for (const m of text.matchAll(/^[ \t]*import[ \t]+([\w., \t]+)/gm)) {
      for (const part of m[1].split(',')) {
        const name = part.trim().split(/\s+/)[0];
        if (!name || !tops.has(name.split('.')[0])) continue;
        const to = mod(name.replaceAll('.', '/'));
        if (to && to !== from) edges.push([from, to]);
      }
    }
  }
  return edges;
}

/** Strongly connected components of the scanner's graph (for "cycles excepted"). */
export function componentsOf(files: Iterable<string>, edges: readonly Edge[]): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const [a, b] of edges) (out.get(a) ?? out.set(a, []).get(a)!).push(b);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const comp = new Map<string, number>();
  const stack: string[] = [];
  let next = 0;
  let nComp = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of out.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (!comp.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      let w: string;
      do {
        w = stack.pop()!;
        comp.set(w, nComp);
      } while (w !== v);
      nComp++;
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return comp;
}

/** Share of scanned edges, outside the scanner's cycles, whose target precedes its importer. */
export function orderScore(order: readonly string[], edges: readonly Edge[], files: Iterable<string>) {
  const pos = new Map(order.map((f, i) => [f, i]));
  const comp = componentsOf(files, edges);
  let total = 0;
  let before = 0;
  const late: string[] = [];
  for (const [from, to] of edges) {
    if (comp.get(from) === comp.get(to)) continue;
    total++;
    if (pos.get(to)! < pos.get(from)!) before++;
    else late.push(`${from} -> ${to}`);
  }
  return { total, before, share: total ? before / total : 1, late };
}

