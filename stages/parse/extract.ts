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
export const EXTRACTOR_VERSION = 2;

/**
 * In priority order: when two patterns capture the same node under the same name (a `get x()`
 * is also a method_definition), the earlier kind wins.
 */
const DEFINITION_CAPTURES: ReadonlyArray<[string, DefinitionKind]> = [
  ['def.getter', 'getter'],
  ['def.field', 'field'],
  ['def.method', 'method'],
  ['def.function', 'function'],
  ['def.class', 'class'],
  ['def.interface', 'interface'],
  ['def.type', 'type'],
  ['def.enum', 'enum'],
  ['def.variable', 'variable'],
];
const PRIORITY = new Map(DEFINITION_CAPTURES.map(([, kind], i) => [kind, i]));

/**
 * Text that sits where documentation would but is not: TODO/FIXME notes (in a JSDoc block or a
 * docstring), and license headers (a file's first JSDoc block often is one).
 */
const NOT_DOC = /^(?:\/\*\*|[rRuUbB]{0,2}(?:"""|'''|"|'))?\s*\**\s*(?:TODO|FIXME|XXX|HACK)\b|@license\b|\bcopyright\b[^\n]*\d{4}/i;

export function extractFacts(spec: LanguageSpec, queries: readonly CompiledQuery[], root: Node, text: string): FileFacts {
  const imports = new Map<string, ImportFact & { nameSet: Set<string> }>();
  const exports = new Map<string, ExportFact>();
  const definitions = new Map<string, DefinitionFact & { priority: number }>();
  const weakInside = new Set(spec.weakImportInside ?? []);

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
        if (weakInside.size && hasAncestor(importNode, weakInside)) fact.weak = true;
        imports.set(key, fact);
      }
      if (props.typeOnly === 'true') fact.typeOnly = true;
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
    const found = definitionOf(spec, caps, props);
    if (!found) continue;
    const { def, node } = found;
    const key = `${node.startIndex}:${node.endIndex}:${def.className ?? ''}:${def.name}`;
    const priority = PRIORITY.get(def.kind)!;
    const before = definitions.get(key);
    if (!before || priority < before.priority || (priority === before.priority && def.doc && !before.doc)) {
      definitions.set(key, { ...def, priority });
    }
  }

  return {
    factsVersion: FACTS_VERSION,
    language: spec.id,
    imports: [...imports.values()]
      .map(({ nameSet, ...fact }) => (nameSet.size ? { ...fact, names: [...nameSet].sort() } : fact))
      .sort((a, b) => a.line - b.line || cmp(a.specifier, b.specifier) || cmp(a.kind, b.kind)),
    exports: [...exports.values()].sort((a, b) => a.line - b.line || cmp(a.name, b.name) || cmp(a.kind, b.kind)),
    definitions: [...definitions.values()].map(({ priority: _, ...def }) => def).sort(
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
): { def: DefinitionFact; node: Node } | undefined {
  for (const [capture, kind] of DEFINITION_CAPTURES) {
    const node = caps.get(capture);
    if (!node) continue;
    const name = unquote(caps.get('def.name')?.text ?? props.name ?? '');
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
    const docNode = caps.get('def.doc');
    const doc = docNode ? docNode.text.trim() : leadingDoc(spec, node);
    if (doc && !NOT_DOC.test(doc)) fact.doc = doc;
    return { def: fact, node };
  }
  return undefined;
}

/**
 * A doc comment is a block comment with the language's doc prefix (JSDoc `/**`) directly before
 * the definition (blank lines between are allowed, as express writes them; nothing else), on its
 * own line. Line comments and plain block comments are
 * notes or commented-out code, not documentation. Languages whose documentation lives inside the
 * definition (Python docstrings) capture it with `@def.doc` instead.
 */
function leadingDoc(spec: LanguageSpec, node: Node): string | undefined {
  const { nodeTypes, blockPrefix } = spec.docComment;
  if (!blockPrefix) return undefined;
  const comment = node.previousSibling;
  if (comment === null || !nodeTypes.includes(comment.type)) return undefined;
  if (comment.endPosition.row >= node.startPosition.row) return undefined; // `/** a */ f()` on one line
  const before = comment.previousSibling;
  if (before && before.endPosition.row >= comment.startPosition.row) return undefined; // trails code
  const text = comment.text;
  if (!text.startsWith(blockPrefix) || text === '/**/' || text.startsWith('/***')) return undefined;
  return text.trim();
}

function hasAncestor(node: Node, types: ReadonlySet<string>): boolean {
  for (let n = node.parent; n; n = n.parent) if (types.has(n.type)) return true;
  return false;
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
