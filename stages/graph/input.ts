import type { FileFacts } from '../parse/facts.ts';
import type { GraphFacts } from './types.ts';

/**
 * The part of a file's facts the graph depends on: its imports' specifiers and kinds, sorted and
 * deduplicated, without lines, names or definitions. Hash this (not the whole FileFacts) into the
 * graph's key, so editing a comment or a function body leaves the graph cached (early cutoff).
 */
export function graphInputOf(facts: FileFacts | GraphFacts): GraphFacts {
  const seen = new Map<string, { specifier: string; kind: GraphFacts['imports'][number]['kind'] }>();
  for (const { specifier, kind } of facts.imports) seen.set(`${kind}\0${specifier}`, { specifier, kind });
  const imports = [...seen.values()].sort((a, b) =>
    a.specifier < b.specifier ? -1 : a.specifier > b.specifier ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
  );
  return { imports };
}
