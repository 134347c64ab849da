/** Python: tree-sitter-python's WASM grammar and the queries next to this file. */
import { grammar, queryFile } from '../files.ts';
import type { LanguageSpec } from '../registry.ts';

const here = new URL('.', import.meta.url);
const { wasm, version } = grammar('tree-sitter-python', 'tree-sitter-python.wasm');

export const python: LanguageSpec = {
  id: 'python',
  displayName: 'Python',
  extensions: ['.py', '.pyi'],
  grammarWasm: wasm,
  grammarVersion: version,
  queries: [
    queryFile(here, 'exports.scm', 'root'),
    queryFile(here, 'definitions.scm', 'root'),
    queryFile(here, 'imports.scm', 'anywhere'),
  ],
  // Documentation is the docstring (@def.doc); `#` comments are notes.
  docComment: { nodeTypes: ['comment'] },
  // `def f(): import x` runs when called; `try: import x / except ImportError` may not import x.
  weakImportInside: ['function_definition', 'lambda', 'try_statement'],
  declarationSuffixes: ['.pyi'],
};
