/** The repository graph: file tree, resolved import edges, cycles and implementation order. */
export { buildRepoGraph, type RepoGraphInput } from './build.ts';
export { formatRepoGraph } from './format.ts';
export { graphInputOf } from './input.ts';
export * from './types.ts';
