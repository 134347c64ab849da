/**
 * graph: one item per repository. Its key covers only what resolution reads (paths, each file's
 * import specifiers and kinds, package.json, the project files of configs.ts), never definitions
 * or line numbers, so editing a comment or a function body re-parses that file and stops there
 * (early cutoff). The project files enter the key only when the repository has some, so a
 * repository without any keeps the key it had before they were read.
 */
import { defineStage } from '../../src/stage.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import type { FileFacts } from '../parse/facts.ts';
import { buildRepoGraph, graphInputOf, GRAPH_VERSION, type RepoGraph } from './index.ts';

export interface GraphInput {
  repo: string;
  files: Array<{ path: string; facts?: FileFacts }>;
  packageJson?: { hash: ContentHash; value: unknown };
  /** Project files for resolution (isGraphConfigPath), sorted by path. */
  configs?: Array<{ path: string; hash: ContentHash; text: string }>;
  /** Dropped duplicate -> kept copy (hygiene); in the key only when present. */
  aliases?: Array<[string, string]>;
}

export const graphStage = defineStage<GraphInput, RepoGraph>({
  name: 'graph',
  version: '1',
  deps: ['parse'],
  description: 'per repository: resolve imports, dependency graph, cycles, implementation order',
  item: (i) => i.repo,
  key: (i) => ({
    inputs: {
      structure: hashText(canonicalJson(i.files.map((f) => [f.path, f.facts ? graphInputOf(f.facts) : null]))),
      packageJson: i.packageJson?.hash ?? '',
      ...(i.configs?.length ? { configs: hashText(canonicalJson(i.configs.map((c) => [c.path, c.hash]))) } : {}),
      ...(i.aliases?.length ? { aliases: hashText(canonicalJson(i.aliases)) } : {}),
    },
    settings: { graph: GRAPH_VERSION },
  }),
  async run(i) {
    return buildRepoGraph({ files: i.files, packageJson: i.packageJson?.value, configs: i.configs?.map(({ path, text }) => ({ path, text })), aliases: i.aliases });
  },
});
