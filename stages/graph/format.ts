/**
 * A readable print of a RepoGraph for `retrace show facts`: languages (and why a file has no
 * facts), tree, order, edges, external, unresolved.
 */
import { posix } from 'node:path';
import { isDeclarationFile, languageById, languageFor } from '../parse/languages/registry.ts';
import type { DirNode, RepoGraph } from './types.ts';

export function formatRepoGraph(graph: RepoGraph): string {
  const out: string[] = [...formatLanguages(graph), '', `files (${graph.files.length})`];
  printTree(graph.tree, '', out);

  const inCycle = new Map<string, number>();
  graph.cycles.forEach((c, i) => c.forEach((f) => inCycle.set(f, i + 1)));
  out.push('', `order (${graph.cycles.length} cycle${graph.cycles.length === 1 ? '' : 's'})`);
  graph.order.forEach((f, i) => {
    const cycle = inCycle.get(f);
    out.push(`  ${String(i + 1).padStart(4)}. ${f}${cycle ? `  [cycle ${cycle}]` : ''}`);
  });

  out.push('', `edges (${graph.edges.length})`);
  for (const e of graph.edges) out.push(`  ${e.from} -> ${e.to}  (${e.kind} '${e.specifier}'${e.weak ? ', weak' : ''})`);

  const externalFiles = Object.keys(graph.external);
  out.push('', `external (${externalFiles.length} file${externalFiles.length === 1 ? '' : 's'})`);
  for (const f of externalFiles) {
    out.push(`  ${f}: ${graph.external[f].map((x) => (x.type === 'builtin' ? `${x.name} (builtin)` : x.name)).join(', ')}`);
  }

  out.push('', `unresolved (${graph.unresolved.length})`);
  for (const u of graph.unresolved) {
    out.push(`  ${u.from}: '${u.specifier}' (${u.kind}) ${u.reason}${u.detail !== undefined ? `: ${u.detail}` : ''}`);
  }
  if (graph.configProblems?.length) {
    out.push('', `project files not used (${graph.configProblems.length})`);
    for (const p of graph.configProblems) out.push(`  ${p.path}: ${p.problem}`);
  }
  return out.join('\n') + '\n';
}

/** Which languages the repository has, and why the other files have no facts. */
function formatLanguages(graph: RepoGraph): string[] {
  const code = new Map<string, { files: number; declarations: number }>();
  const other = new Map<string, number>();
  for (const f of graph.files) {
    const lang = languageFor(f);
    if (lang) {
      const c = code.get(lang) ?? { files: 0, declarations: 0 };
      c.files++;
      if (isDeclarationFile(f)) c.declarations++;
      code.set(lang, c);
    } else {
      const ext = posix.extname(f) || posix.basename(f);
      other.set(ext, (other.get(ext) ?? 0) + 1);
    }
  }
  const out = ['languages'];
  for (const [lang, c] of [...code].sort()) {
    const name = languageById(lang)?.displayName ?? lang;
    out.push(`  ${name}: ${c.files} file${c.files === 1 ? '' : 's'}${c.declarations ? ` (${c.declarations} declaration-only)` : ''}`);
  }
  const otherCount = [...other.values()].reduce((a, b) => a + b, 0);
  if (otherCount) {
    const byExt = [...other].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([e, n]) => `${e} ${n}`);
    out.push(`  other files (no grammar, no facts): ${otherCount} (${byExt.join(', ')})`);
  }
  if (graph.noFacts?.length) {
    out.push(`  no facts (parse failed or refused; see the build's failures): ${graph.noFacts.join(', ')}`);
  }
  return out;
}

function printTree(dir: DirNode, indent: string, out: string[]): void {
  dir.children.forEach((child, i) => {
    const last = i === dir.children.length - 1;
    out.push(`${indent}${last ? '└── ' : '├── '}${child.name}${child.type === 'dir' ? '/' : ''}`);
    if (child.type === 'dir') printTree(child, indent + (last ? '    ' : '│   '), out);
  });
}
