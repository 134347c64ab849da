/**
 * Turns query matches into FileFacts. Language-neutral: everything language-specific lives in the
 * query files and the LanguageSpec (capture conventions in languages/registry.ts).
 */
import type { Node, QueryCapture, QueryMatch } from 'web-tree-sitter';
import type { CompiledQuery } from './binding.ts';
import {
  FACTS_VERSION,
  type DefinitionFact,
  type DefinitionKind,
  type ExportFact,
  type ExportKind,
  type FileFacts,
  type ImportFact,
  type ImportKind,
} from './facts.ts';
import type { LanguageSpec } from './languages/registry.ts';

/** Bump when this file changes what it extracts; part of PARSER_VERSION. */
export const EXTRACTOR_VERSION = 1;

const DEFINITION_CAPTURES: ReadonlyArray<[string, DefinitionKind]> = [
  ['def.method', 'method'],
  ['def.function', 'function'],
  ['def.class', 'class'],
  ['def.variable', 'variable'],
];

export function extractFacts(spec: LanguageSpec, queries: readonly CompiledQuery[], root: Node, text: string): FileFacts {
  const imports = new Map<string, ImportFact & { nameSet: Set<string> }>();
  const exports = new Map<string, ExportFact>();
  const definitions = new Map<string, DefinitionFact>();

  const matches: QueryMatch[] = queries.flatMap(({ query, rootOnly }) =>
    query.matches(root, rootOnly ? { maxStartDepth: 0 } : undefined),
  );
  for (const match of matches) {
    const caps = capturesByName(match.captures);
    const props = match.setProperties ?? {};
    const importNode = caps.get('import.node');
    if (importNode) {
      const source = caps.get('import.source');
      if (!source) continue;
      const kind = props.kind as ImportKind;
      const key = `${importNode.startIndex}:${importNode.endIndex}:${kind}`;
      let fact = imports.get(key);
      if (!fact) {
        fact = { kind, specifier: source.text, line: importNode.startPosition.row + 1, nameSet: new Set() };
        imports.set(key, fact);
      }
      for (const c of match.captures) {
        if (c.name === 'import.name') fact.nameSet.add(unquote(c.node.text));
        else if (c.name === 'import.default') fact.nameSet.add('default');
        else if (c.name === 'import.namespace') fact.nameSet.add('*');
      }
      continue;
    }
    const exportNode = caps.get('export.node');
    if (exportNode) {
      const nameNode = caps.get('export.name');
      const name = nameNode ? unquote(nameNode.text) : props.name;
      if (!name) continue;
      const fact: ExportFact = { kind: props.kind as ExportKind, name, line: exportNode.startPosition.row + 1 };
      exports.set(`${fact.kind}:${fact.name}:${fact.line}`, fact);
      continue;
    }
    const def = definitionOf(spec, caps, props);
    if (def) definitions.set(`${def.kind}:${def.className ?? ''}:${def.name}:${def.startLine}`, def);
  }

  return {
    factsVersion: FACTS_VERSION,
    language: spec.id,
    imports: [...imports.values()]
      .map(({ nameSet, ...fact }) => (nameSet.size ? { ...fact, names: [...nameSet].sort() } : fact))
      .sort((a, b) => a.line - b.line || cmp(a.specifier, b.specifier) || cmp(a.kind, b.kind)),
    exports: [...exports.values()].sort((a, b) => a.line - b.line || cmp(a.name, b.name) || cmp(a.kind, b.kind)),
    definitions: [...definitions.values()].sort(
      (a, b) => a.startLine - b.startLine || b.endLine - a.endLine || cmp(a.name, b.name) || cmp(a.kind, b.kind),
    ),
    syntaxErrors: countSyntaxErrors(root),
    lineCount: countLines(text),
  };
}

function definitionOf(
  spec: LanguageSpec,
  caps: Map<string, Node>,
  props: Record<string, string | null>,
): DefinitionFact | undefined {
  for (const [capture, kind] of DEFINITION_CAPTURES) {
    const node = caps.get(capture);
    if (!node) continue;
    const name = caps.get('def.name')?.text ?? props.name;
    if (!name) return undefined;
    const fact: DefinitionFact = {
      kind,
      name,
      startLine: node.startPosition.row + 1,
      endLine: node.endPosition.row + 1,
    };
    const className = caps.get('def.class_name');
    if (className) fact.className = className.text;
    const params = caps.get('def.params');
    if (params) fact.params = params.text;
    const doc = leadingDoc(spec, node);
    if (doc) fact.doc = doc;
    return fact;
  }
  return undefined;
}

/**
 * A doc comment is a block comment with the doc prefix, or a run of line comments, ending on the
 * line directly above the definition. A comment trailing code on its own line is not one.
 */
function leadingDoc(spec: LanguageSpec, node: Node): string | undefined {
  const { nodeTypes, blockPrefix, linePrefix } = spec.docComment;
  const isComment = (n: Node | null): n is Node => n !== null && nodeTypes.includes(n.type);
  const ownLine = (c: Node) => {
    const before = c.previousSibling;
    return !before || before.endPosition.row < c.startPosition.row;
  };
  let comment = node.previousSibling;
  if (!isComment(comment) || comment.endPosition.row !== node.startPosition.row - 1 || !ownLine(comment)) {
    return undefined;
  }
  const first = comment.text;
  if (blockPrefix && first.startsWith(blockPrefix) && first !== '/**/') return first.trim();
  if (!linePrefix || !first.startsWith(linePrefix)) return undefined;
  const lines = [first.trim()];
  for (;;) {
    const above: Node | null = comment.previousSibling;
    if (!isComment(above) || !above.text.startsWith(linePrefix)) break;
    if (above.endPosition.row !== comment.startPosition.row - 1 || !ownLine(above)) break;
    lines.unshift(above.text.trim());
    comment = above;
  }
  return lines.join('\n');
}

/** ERROR and MISSING nodes, descending only into subtrees that contain one. */
function countSyntaxErrors(node: Node): number {
  if (!node.hasError) return 0;
  let count = node.isError || node.isMissing ? 1 : 0;
  for (const child of node.children) if (child) count += countSyntaxErrors(child);
  return count;
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let lines = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return text.endsWith('\n') ? lines - 1 : lines;
}

function capturesByName(captures: QueryCapture[]): Map<string, Node> {
  const map = new Map<string, Node>();
  for (const c of captures) if (!map.has(c.name)) map.set(c.name, c.node);
  return map;
}

/** String-valued names (`import { "a-b" as c }`) are written with quotes. */
function unquote(s: string): string {
  return /^(["'`]).*\1$/s.test(s) ? s.slice(1, -1) : s;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
