/** JavaScript (also JSX): tree-sitter-javascript's WASM build and the queries next to this file. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LanguageSpec, QueryScope } from '../registry.ts';

const require = createRequire(import.meta.url);
const grammarDir = dirname(require.resolve('tree-sitter-javascript/package.json'));
const grammarPackage = JSON.parse(readFileSync(join(grammarDir, 'package.json'), 'utf8')) as { version: string };
const here = dirname(fileURLToPath(import.meta.url));

function query(file: string, scope: QueryScope): LanguageSpec['queries'][number] {
  return { file, scope, source: readFileSync(join(here, file), 'utf8') };
}

export const javascript: LanguageSpec = {
  id: 'javascript',
  extensions: ['.js', '.mjs', '.cjs', '.jsx'],
  grammarWasm: join(grammarDir, 'tree-sitter-javascript.wasm'),
  grammarVersion: `tree-sitter-javascript@${grammarPackage.version}`,
  queries: [
    query('imports.scm', 'root'),
    query('exports.scm', 'root'),
    query('definitions.scm', 'root'),
    query('calls.scm', 'anywhere'),
    query('commonjs.scm', 'anywhere'),
  ],
  docComment: { nodeTypes: ['comment'], blockPrefix: '/**', linePrefix: '//' },
};
