/**
 * The binding's name and version, part of PARSER_VERSION. Kept apart from binding.ts so the main
 * thread can compute cache keys without loading the WASM binding (only workers parse).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// web-tree-sitter's "exports" hides package.json; its entry point sits in the package root.
const bindingPackageJson = join(dirname(require.resolve('web-tree-sitter')), 'package.json');
const bindingPackage = JSON.parse(readFileSync(bindingPackageJson, 'utf8')) as { version: string };

export const BINDING = `web-tree-sitter@${bindingPackage.version}`;
