/**
 * Briefs: bounded summaries of the facts that ground the agents. A brief is what the prompts
 * show and what the offline provider writes from, so both see the same, size-capped view of a
 * file (a file with 300 definitions still yields a prompt of a few KB).
 */
import type { FileFacts } from '../parse/facts.ts';
import type { RepoGraph } from '../graph/types.ts';

const MAX_DEFINITIONS = 24;
const MAX_DOCS = 6;
const MAX_DOC_CHARS = 200;
const MAX_EXPORTS = 24;
const MAX_EXTERNAL = 16;

export interface FileBrief {
  path: string;
  language: string;
  lines: number;
  /** Signatures in source order, e.g. "function parse(argv, opts)", "class Parser", "method Parser.run()". */
  definitions: string[];
  /** Definitions beyond MAX_DEFINITIONS. */
  moreDefinitions: number;
  /** "name: first sentence of its doc comment". */
  docs: string[];
  exports: string[];
  /** Resolved imports of repository files, in the order they are first imported. */
  deps: Array<{ path: string; names: string[] }>;
  /** Packages and Node core modules imported. */
  external: string[];
  /** Files of the repository that import this one. */
  usedBy: number;
}

/** Plain text from model or file: no control characters, no Llama-3 special-token look-alikes, bounded. */
export function cleanText(value: unknown, max: number): string {
  if (typeof value !== 'string') return '';
  const t = value
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/<\|/g, '<')
    .replace(/\|>/g, '>')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return t.length > max ? t.slice(0, max).trimEnd() + '…' : t;
}

/** One line: newlines folded into spaces. */
export function oneLine(value: unknown, max: number): string {
  return cleanText(value, max).replace(/\s*\n\s*/g, ' ');
}

function firstSentence(doc: string): string {
  const body = doc
    .replace(/^\/\*\*?|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*(\*|\/\/)\s?/, '').trim())
    .filter((l) => l && !l.startsWith('@'))
    .join(' ');
  const m = /^(.+?[.!?])(\s|$)/.exec(body);
  return oneLine(m ? m[1] : body, MAX_DOC_CHARS);
}

export function briefOf(path: string, facts: FileFacts, graph: RepoGraph): FileBrief {
  const sig = (d: FileFacts['definitions'][number]): string => {
    // An arrow function's single parameter comes without parentheses.
    const raw = d.params !== undefined ? oneLine(d.params, 80) : '';
    const params = raw && !raw.startsWith('(') ? `(${raw})` : raw;
    if (d.kind === 'method') return `method ${d.className ?? '?'}.${d.name}${params}`;
    if (d.kind === 'class') return `class ${d.name}`;
    return `function ${d.name}${params || '()'}`;
  };
  const docs: string[] = [];
  for (const d of facts.definitions) {
    if (docs.length >= MAX_DOCS) break;
    if (d.doc) {
      const s = firstSentence(d.doc);
      if (s) docs.push(`${d.className ? d.className + '.' : ''}${d.name}: ${s}`);
    }
  }
  const edges = graph.edges.filter((e) => e.from === path);
  const deps: FileBrief['deps'] = [];
  for (const imp of facts.imports) {
    const edge = edges.find((e) => e.specifier === imp.specifier);
    if (!edge || edge.to === path) continue;
    let dep = deps.find((d) => d.path === edge.to);
    if (!dep) deps.push((dep = { path: edge.to, names: [] }));
    for (const n of imp.names ?? []) if (!dep.names.includes(n)) dep.names.push(n);
  }
  // Edges whose import the facts do not list in order (should not happen) still count.
  for (const e of edges) if (e.to !== path && !deps.some((d) => d.path === e.to)) deps.push({ path: e.to, names: [] });
  const external = [...new Set((graph.external[path] ?? []).map((x) => x.name))];
  return {
    path,
    language: facts.language,
    lines: facts.lineCount,
    definitions: facts.definitions.slice(0, MAX_DEFINITIONS).map(sig),
    moreDefinitions: Math.max(0, facts.definitions.length - MAX_DEFINITIONS),
    docs,
    exports: [...new Set(facts.exports.map((e) => (e.kind === 'cjs-module' ? 'module.exports' : e.name)))].slice(0, MAX_EXPORTS),
    deps,
    external: external.slice(0, MAX_EXTERNAL),
    usedBy: new Set(graph.edges.filter((e) => e.to === path && e.from !== path).map((e) => e.from)).size,
  };
}

/** Indented file tree, at most maxLines lines. */
export function renderTree(graph: RepoGraph, maxLines = 200): string {
  const out: string[] = [];
  let hidden = 0;
  const walk = (node: RepoGraph['tree'], depth: number): void => {
    for (const c of node.children) {
      if (out.length >= maxLines) {
        hidden++;
        if (c.type === 'dir') walk(c, depth + 1);
        continue;
      }
      out.push(`${'  '.repeat(depth)}${c.name}${c.type === 'dir' ? '/' : ''}`);
      if (c.type === 'dir') walk(c, depth + 1);
    }
  };
  walk(graph.tree, 0);
  if (hidden) out.push(`… ${hidden} more entries`);
  return out.join('\n');
}

/** A file's brief as prompt text. */
export function renderBrief(b: FileBrief, purpose?: string): string {
  const out = [`${b.path} (${b.lines} lines, ${b.language})`];
  if (purpose) out.push(`  purpose: ${purpose}`);
  if (b.definitions.length) out.push(`  defines: ${b.definitions.join('; ')}${b.moreDefinitions ? `; … ${b.moreDefinitions} more` : ''}`);
  if (b.exports.length) out.push(`  exports: ${b.exports.join(', ')}`);
  for (const d of b.docs) out.push(`  doc: ${d}`);
  if (b.deps.length) out.push(`  imports: ${b.deps.map((d) => (d.names.length ? `${d.path} (${d.names.join(', ')})` : d.path)).join('; ')}`);
  if (b.external.length) out.push(`  external: ${b.external.join(', ')}`);
  if (b.usedBy) out.push(`  imported by ${b.usedBy} file${b.usedBy === 1 ? '' : 's'}`);
  return out.join('\n');
}

/** Joins blocks until maxChars, then says how many were left out. */
export function boundedJoin(blocks: string[], maxChars: number, sep = '\n'): string {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; i < blocks.length; i++) {
    if (size + blocks[i].length > maxChars && out.length > 0) {
      out.push(`… ${blocks.length - i} more not shown`);
      break;
    }
    out.push(blocks[i]);
    size += blocks[i].length + sep.length;
  }
  return out.join(sep);
}
