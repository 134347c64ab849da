/**
 * Modules loaded on first use instead of with their importer. A no-op build must start in
 * about node's own start time, and loading node:http, node:child_process, node:zlib,
 * node:worker_threads or a CommonJS package (parsed by Node's CJS lexer) costs 5-15 ms each,
 * for code only some builds run (a remote, git sources, tarballs, shards, .gitignore files).
 * Types come from `import type`; the value from `lazy(...)()` at the point of use.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** `id` (a builtin or a package), required the first time the returned function is called. */
export function lazy<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= load(id) as T);
}
