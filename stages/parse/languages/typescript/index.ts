/**
 * TypeScript and TSX: tree-sitter-typescript's two WASM grammars (TSX is TypeScript plus JSX, so
 * `<T>x` casts only parse in .ts) with the same queries. Calls, CommonJS exports and members
 * defined outside classes have the same shape as in JavaScript and share its query files.
 */
import { grammar, queryFile } from '../files.ts';
import type { LanguageSpec } from '../registry.ts';

const here = new URL('.', import.meta.url);
const ts = grammar('tree-sitter-typescript', 'tree-sitter-typescript.wasm');
const tsxGrammar = grammar('tree-sitter-typescript', 'tree-sitter-tsx.wasm');

const queries: LanguageSpec['queries'] = [
  queryFile(here, 'imports.scm', 'root'),
  queryFile(here, 'exports.scm', 'root'),
  queryFile(here, 'definitions.scm', 'root'),
  queryFile(here, '../javascript/members.scm', 'root'),
  queryFile(here, '../javascript/calls.scm', 'anywhere'),
  queryFile(here, '../javascript/commonjs.scm', 'anywhere'),
];

export const typescript: LanguageSpec = {
  id: 'typescript',
  displayName: 'TypeScript',
  extensions: ['.ts', '.mts', '.cts'],
  grammarWasm: ts.wasm,
  grammarVersion: ts.version,
  queries,
  docComment: { nodeTypes: ['comment'], blockPrefix: '/**' },
  declarationSuffixes: ['.d.ts', '.d.mts', '.d.cts'],
};

export const tsx: LanguageSpec = {
  id: 'tsx',
  displayName: 'TypeScript (TSX)',
  extensions: ['.tsx'],
  grammarWasm: tsxGrammar.wasm,
  grammarVersion: tsxGrammar.version,
  queries,
  docComment: { nodeTypes: ['comment'], blockPrefix: '/**' },
};
