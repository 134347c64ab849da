/** A readable print of a RepoGraph for `retrace show facts`: tree, order, edges, external, unresolved. */
import type { DirNode, RepoGraph } from './types.ts';

export function formatRepoGraph(graph: RepoGraph): string {
  const out: string[] = [`files (${graph.files.length})`];
  printTree(graph.tree, '', out);

  const inCycle = new Map<string, number>();
  graph.cycles.forEach((c, i) => c.forEach((f) => inCycle.set(f, i + 1)));
  out.push('', `order (${graph.cycles.length} cycle${graph.cycles.length === 1 ? '' : 's'})`);
  graph.order.forEach((f, i) => {
    const cycle = inCycle.get(f);
    out.push(`  ${String(i + 1).padStart(4)}. ${f}${cycle ? `  [cycle ${cycle}]` : ''}`);
  });

  out.push('', `edges (${graph.edges.length})`);
  for (const e of graph.edges) out.push(`  ${e.from} -> ${e.to}  (${e.kind} '${e.specifier}')`);

  const externalFiles = Object.keys(graph.external);
  out.push('', `external (${externalFiles.length} file${externalFiles.length === 1 ? '' : 's'})`);
  for (const f of externalFiles) {
    out.push(`  ${f}: ${graph.external[f].map((x) => (x.type === 'builtin' ? `${x.name} (builtin)` : x.name)).join(', ')}`);
  }

  out.push('', `unresolved (${graph.unresolved.length})`);
  for (const u of graph.unresolved) {
    out.push(`  ${u.from}: '${u.specifier}' (${u.kind}) ${u.reason}${u.detail !== undefined ? `: ${u.detail}` : ''}`);
  }
  return out.join('\n') + '\n';
}

function printTree(dir: DirNode, indent: string, out: string[]): void {
  dir.children.forEach((child, i) => {
    const last = i === dir.children.length - 1;
    out.push(`${indent}${last ? '└── ' : '├── '}${child.name}${child.type === 'dir' ? '/' : ''}`);
    if (child.type === 'dir') printTree(child, indent + (last ? '    ' : '│   '), out);
  });
}
