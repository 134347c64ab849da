/**
 * buildRepoGraph: pure and deterministic. It reads only paths, the root package.json, the project
 * files of configs.ts and each file's graphInputOf(facts), so definitions and line numbers cannot
 * change the graph. Each file's imports are resolved by the resolver of its language
 * (resolvers.ts); all languages share one graph and one implementation order.
 */
import { RetraceError } from '../../src/errors.ts';
import { languageFor } from '../parse/languages/registry.ts';
import { readConfigs, type ConfigFile } from './configs.ts';
import { graphInputOf } from './input.ts';
import { compare, implementationOrder, stronglyConnected } from './order.ts';
import { createResolvers } from './resolvers.ts';
import { fileTree } from './tree.ts';
import {
  GRAPH_VERSION,
  type ExternalImport,
  type GraphEdge,
  type GraphFacts,
  type RepoGraph,
  type UnresolvedImport,
} from './types.ts';

export interface RepoGraphInput {
  /** Every file of the repository (repository-relative POSIX paths); facts for the analysed ones. */
  files: ReadonlyArray<{ path: string; facts?: GraphFacts }>;
  /** The parsed root package.json, if the repository has one. */
  packageJson?: unknown;
  /** tsconfig/jsconfig files, workspace package.json files, pyproject.toml, setup.cfg (configs.ts). */
  configs?: readonly ConfigFile[];
  /**
   * Files left out as byte-identical copies of another file (hygiene, issue 15): dropped path ->
   * kept path. Imports still resolve to the dropped path, and the edge goes to the kept copy.
   */
  aliases?: ReadonlyArray<readonly [string, string]>;
}

export function buildRepoGraph(input: RepoGraphInput): RepoGraph {
  const facts = new Map<string, GraphFacts | undefined>();
  for (const { path, facts: f } of input.files) {
    checkPath(path, facts);
    facts.set(path, f && graphInputOf(f));
  }
  const files = [...facts.keys()].sort(compare);
  const configs = readConfigs(input.configs ?? []);
  const aliases = new Map(input.aliases ?? []);
  const resolvers = createResolvers(new Set([...files, ...aliases.keys()]), input.packageJson, configs);

  const edges: GraphEdge[] = [];
  const external: Record<string, ExternalImport[]> = {};
  const unresolved: UnresolvedImport[] = [];
  const deps = new Map<string, string[]>();
  const weakDeps = new Map<string, string[]>();
  for (const from of files) {
    const targets = new Set<string>();
    const weakTargets = new Set<string>();
    const ext: ExternalImport[] = [];
    const imports = facts.get(from)?.imports ?? [];
    const resolver = imports.length ? resolvers.forFile(from) : undefined;
    // graphInputOf sorted the imports by specifier, then kind: outputs come out sorted.
    for (const imp of imports) {
      const { specifier, kind } = imp;
      if (!resolver) {
        unresolved.push({ from, specifier, kind, reason: 'no-resolver' });
        continue;
      }
      for (const r of resolver.resolve(from, imp)) {
        if (r.type === 'file') {
          const to = aliases.get(r.path) ?? r.path;
          edges.push({ from, to, specifier, kind, ...(imp.weak && { weak: true as const }) });
          (imp.weak ? weakTargets : targets).add(to);
        } else if (r.type === 'unresolved') {
          unresolved.push({ from, specifier, kind, reason: r.reason, ...(r.detail !== undefined && { detail: r.detail }) });
        } else {
          ext.push({ specifier, kind, type: r.type, name: r.name });
        }
      }
    }
    if (ext.length) external[from] = ext;
    deps.set(from, [...targets].sort(compare));
    for (const t of targets) weakTargets.delete(t);
    if (weakTargets.size) weakDeps.set(from, [...weakTargets].sort(compare));
  }
  edges.sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to) || compare(a.specifier, b.specifier) || compare(a.kind, b.kind));

  const components = stronglyConnected(files, deps);
  const cycles = components.filter((c) => c.length > 1 || deps.get(c[0])!.includes(c[0]));
  const graph: RepoGraph = {
    version: GRAPH_VERSION,
    tree: fileTree(files),
    files,
    edges,
    external,
    unresolved,
    cycles,
    order: implementationOrder(components, deps, weakDeps),
  };
  const noFacts = files.filter((f) => facts.get(f) === undefined && languageFor(f) !== undefined);
  if (noFacts.length) graph.noFacts = noFacts;
  if (configs.problems.length) graph.configProblems = configs.problems;
  return graph;
}

function checkPath(path: string, seen: ReadonlyMap<string, unknown>): void {
  const bad =
    path === '' || path.startsWith('/') || path.includes('\\') || path.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad || seen.has(path)) {
    throw new RetraceError('STAGE_FAILED', bad ? 'not a normalised repository-relative path' : 'listed twice', {
      item: path,
      hint: 'pass each file once, as a POSIX path relative to the repository root (e.g. "lib/a.js")',
    });
  }
}
