/**
 * Briefs: bounded summaries of the facts that ground the agents. A brief is what the prompts
 * show and what the offline provider writes from, so both see the same, size-capped view of a
 * file (a file with 300 definitions still yields a prompt of a few KB).
 */
import type { DefinitionFact, FileFacts } from '../parse/facts.ts';
import { languageById } from '../parse/languages/registry.ts';
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
  /**
   * Signatures in source order, in the language's terms: "function parse(argv, opts)",
   * "class Parser", "method Parser.run()", "getter Request.protocol", "interface Options",
   * "def parse(s, *, strict=True)" (Python), "property Message.charset".
   */
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
  /** A declaration-only file (TypeScript `.d.ts`, Python `.pyi`). Absent otherwise. */
  declarations?: true;
}

/** The language's name for prompts and structural text ("Python", "TypeScript"). */
export function languageName(id: string): string {
  return languageById(id)?.displayName ?? id;
}

/**
 * Words for each kind of definition, per language: Python writes `def` and calls a property a
 * property and a class-level assignment an attribute; JavaScript and TypeScript say function,
 * getter and field.
 */
const KIND_WORDS: Record<string, Partial<Record<DefinitionFact['kind'], string>>> = {
  python: { function: 'def', getter: 'property', field: 'attribute', variable: 'name' },
};

/** A signature without its leading kind word ("method Parser.run()" -> "Parser.run()"). */
export function bareSignature(sig: string): string {
  return sig.replace(/^(function|def|class|method|getter|property|field|attribute|variable|name|interface|type|enum) /, '');
}

/** One definition as the brief shows it. */
export function signature(d: DefinitionFact, language: string): string {
  // An arrow function's single parameter comes without parentheses.
  const raw = d.params !== undefined ? oneLine(d.params, 80) : '';
  const params = raw && !raw.startsWith('(') ? `(${raw})` : raw;
  const word = KIND_WORDS[language]?.[d.kind] ?? d.kind;
  const owner = d.className ? `${d.className}.` : '';
  switch (d.kind) {
    case 'method':
      return `${word} ${d.className ?? '?'}.${d.name}${params}`;
    case 'getter':
    case 'field':
      return `${word} ${owner}${d.name}`;
    case 'class':
    case 'interface':
    case 'type':
    case 'enum':
      return `${word} ${d.name}`;
    case 'variable':
      // JavaScript/TypeScript variables in facts hold functions or classes.
      return language === 'python' ? `${word} ${d.name}` : params ? `function ${d.name}${params}` : `class ${d.name}`;
    default:
      return `${word} ${d.name}${params || '()'}`;
  }
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
    // Python docstrings: triple or single quotes, with an optional r/u/b prefix.
    .replace(/^[rRuUbB]{0,2}("{3}|'{3}|"|')([\s\S]*)\1$/, '$2')
    .split('\n')
    .map((l) => l.replace(/^\s*(\*|\/\/)\s?/, '').trim())
    .filter((l) => l && !l.startsWith('@'))
    .join(' ');
  const m = /^(.+?[.!?])(\s|$)/.exec(body);
  return oneLine(m ? m[1] : body, MAX_DOC_CHARS);
}

/** Module metadata (`__all__`, `__version__`, `__author__`): not part of what a file defines. */
const isDunderVariable = (d: DefinitionFact): boolean => d.kind === 'variable' && /^__\w+__$/.test(d.name);

export function briefOf(path: string, facts: FileFacts, graph: RepoGraph): FileBrief {
  const sig = (d: DefinitionFact): string => signature(d, facts.language);
  const definitions = facts.definitions.filter((d) => !isDunderVariable(d));
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
  const brief: FileBrief = {
    path,
    language: facts.language,
    lines: facts.lineCount,
    definitions: definitions.slice(0, MAX_DEFINITIONS).map(sig),
    moreDefinitions: Math.max(0, definitions.length - MAX_DEFINITIONS),
    docs,
    // TypeScript writes CommonJS's `module.exports = x` as `export = x`.
    exports: [...new Set(facts.exports.map((e) => (e.kind !== 'cjs-module' ? e.name : facts.language === 'javascript' ? 'module.exports' : 'export =')))].slice(0, MAX_EXPORTS),
    deps,
    external: external.slice(0, MAX_EXTERNAL),
    usedBy: new Set(graph.edges.filter((e) => e.to === path && e.from !== path).map((e) => e.from)).size,
  };
  if (facts.declarations) brief.declarations = true;
  return brief;
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
  const out = [`${b.path} (${b.lines} lines, ${languageName(b.language)}${b.declarations ? ' declarations' : ''})`];
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
