/** Helpers for language folders: locate a grammar package's WASM file and read query files. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LanguageSpec, QueryScope } from './registry.ts';

const require = createRequire(import.meta.url);

/** The grammar package's WASM file and `name@version` (for the parser version and reports). */
export function grammar(pkg: string, wasmFile: string): { wasm: string; version: string } {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { wasm: join(dir, wasmFile), version: `${pkg}@${version}` };
}

/**
 * A query file of a language folder. `file` may name a sibling folder's file
 * ('../javascript/calls.scm'); its name in reports is the path relative to languages/.
 */
export function queryFile(folder: URL, file: string, scope: QueryScope): LanguageSpec['queries'][number] {
  const path = fileURLToPath(new URL(file, folder));
  const languages = fileURLToPath(new URL('.', import.meta.url));
  return { file: path.slice(languages.length), scope, source: readFileSync(path, 'utf8') };
}
