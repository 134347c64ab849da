/**
 * RepoGraph: the repository's structure as the trajectory planner sees it. Plain JSON, cached per
 * repository. Bump GRAPH_VERSION whenever the shape changes or the same input could give a
 * different graph (resolution rules, ordering, tie-breaks); it goes into the cache key.
 */
import type { ImportKind } from '../parse/facts.ts';

export const GRAPH_VERSION = 'graph-1';

/** The only part of a file's facts the graph reads (see graphInputOf). FileFacts satisfies it. */
export interface GraphFacts {
  imports: ReadonlyArray<GraphImport>;
}

export interface GraphImport {
  specifier: string;
  kind: ImportKind;
  /** Python `from x import a, b`: the names (a submodule of a package is its own edge). */
  names?: readonly string[];
  /** A weak import (ImportFact.weak): orders ties and cycles, never forces its target first. */
  weak?: true;
}

export interface DirNode {
  type: 'dir';
  /** '' for the repository root. */
  name: string;
  /** Repository-relative POSIX path; '' for the root. */
  path: string;
  /** Directories first, then files, each sorted by name. */
  children: Array<DirNode | FileNode>;
}

export interface FileNode {
  type: 'file';
  name: string;
  path: string;
}

/** `from` imports `to` (both repository paths); one edge per distinct specifier and kind. */
export interface GraphEdge {
  from: string;
  to: string;
  specifier: string;
  kind: ImportKind;
  /** Every import behind this edge is weak (inside a function or a `try`). */
  weak?: true;
}

export interface ExternalImport {
  specifier: string;
  kind: ImportKind;
  /**
   * 'builtin': a Node core module or a Python standard-library module; 'package': a dependency
   * outside the repository.
   */
  type: 'builtin' | 'package';
  /** Core module name without 'node:', the npm package name (with its scope), or a Python top-level module. */
  name: string;
}

/**
 * - 'not-found': no repository file at the path, with extensions and index files probed
 * - 'outside-repository': a relative path climbing above the root
 * - 'absolute-path': '/x', which depends on the machine
 * - 'url': 'https:', 'data:', 'file:' and other URL schemes
 * - 'not-exported': a self-reference the package's "exports" does not expose (or blocks with null)
 * - 'exports-target-missing': "exports"/"imports"/"main" maps to a file not in the repository
 *   (often a build output such as dist/)
 * - 'imports-not-matched': a '#name' with no matching entry in package.json "imports"
 * - 'invalid-specifier': empty, or an "exports" target not starting with './'
 * - 'no-resolver': the importing file's language has no resolver yet
 */
export type UnresolvedReason =
  | 'not-found'
  | 'outside-repository'
  | 'absolute-path'
  | 'url'
  | 'not-exported'
  | 'exports-target-missing'
  | 'imports-not-matched'
  | 'invalid-specifier'
  | 'no-resolver';

export interface UnresolvedImport {
  from: string;
  specifier: string;
  kind: ImportKind;
  reason: UnresolvedReason;
  /** The path that was looked for, when there is one. */
  detail?: string;
}

export interface RepoGraph {
  version: typeof GRAPH_VERSION;
  tree: DirNode;
  /** Every file of the input, sorted. */
  files: string[];
  /** Sorted by from, to, specifier, kind. */
  edges: GraphEdge[];
  /** Files with external imports only, keys sorted; each list sorted by specifier, kind. */
  external: Record<string, ExternalImport[]>;
  /** Sorted by from, specifier, kind. */
  unresolved: UnresolvedImport[];
  /**
   * Strongly connected components (Tarjan) over the strong edges that form a cycle: two or more
   * files, or a file importing itself. Members sorted by path; the list sorted by first member.
   */
  cycles: string[][];
  /**
   * Implementation order over all files: dependencies (strong edges) before dependents; the
   * files of a cycle are adjacent and sorted by path; among groups whose dependencies are all
   * placed, one whose weak dependencies are placed too comes first, then the smallest path.
   */
  order: string[];
  /**
   * Files of a registered language that came without facts (their parse failed or was refused,
   * e.g. over the size limit; the build's failures say which). Absent when none.
   */
  noFacts?: string[];
  /** Project files (tsconfig.json, package.json, pyproject.toml) that could not be used, and why. Absent when none. */
  configProblems?: Array<{ path: string; problem: string }>;
}
