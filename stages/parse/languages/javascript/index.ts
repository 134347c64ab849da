/** JavaScript (also JSX): tree-sitter-javascript's WASM build and the queries next to this file. */
import { grammar, queryFile } from '../files.ts';
import type { LanguageSpec } from '../registry.ts';

const here = new URL('.', import.meta.url);
const { wasm, version } = grammar('tree-sitter-javascript', 'tree-sitter-javascript.wasm');

export const javascript: LanguageSpec = {
  id: 'javascript',
  displayName: 'JavaScript',
  extensions: ['.js', '.mjs', '.cjs', '.jsx'],
  grammarWasm: wasm,
  grammarVersion: version,
  queries: [
    queryFile(here, 'imports.scm', 'root'),
    queryFile(here, 'exports.scm', 'root'),
    queryFile(here, 'definitions.scm', 'root'),
    queryFile(here, 'members.scm', 'root'),
    queryFile(here, 'calls.scm', 'anywhere'),
    queryFile(here, 'commonjs.scm', 'anywhere'),
  ],
  docComment: { nodeTypes: ['comment'], blockPrefix: '/**' },
};
