import type { FileFacts } from '../parse/facts.ts';
import type { GraphFacts, GraphImport } from './types.ts';

/**
 * The part of a file's facts the graph depends on: its imports' specifiers and kinds (plus, for
 * Python `from` imports, the names; and a weak mark), sorted and deduplicated, without lines or
 * definitions. Hash this (not the whole FileFacts) into the graph's key, so editing a comment or a
 * function body leaves the graph cached (early cutoff). A JavaScript file's input has only
 * specifiers and kinds, as before other languages were added.
 */
export function graphInputOf(facts: FileFacts | GraphFacts): GraphFacts {
  const seen = new Map<string, { specifier: string; kind: GraphImport['kind']; names?: Set<string>; weak: boolean }>();
  for (const imp of facts.imports) {
    const key = `${imp.kind}\0${imp.specifier}`;
    let entry = seen.get(key);
    if (!entry) {
      entry = { specifier: imp.specifier, kind: imp.kind, weak: true };
      seen.set(key, entry);
    }
    // One strong import of a module makes the dependency strong.
    if (!imp.weak) entry.weak = false;
    if (imp.kind === 'py-from') for (const n of imp.names ?? []) (entry.names ??= new Set()).add(n);
  }
  const imports = [...seen.values()]
    .sort((a, b) => cmp(a.specifier, b.specifier) || cmp(a.kind, b.kind))
    .map(({ specifier, kind, names, weak }) => {
      const out: GraphImport = { specifier, kind };
      if (names) out.names = [...names].sort();
      if (weak) out.weak = true;
      return out;
    });
  return { imports };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
