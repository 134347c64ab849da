/**
 * The parse stage's unit of work: one file's text in, its FileFacts out. Runs in a piscina worker
 * (default export) and on the main thread in tests. Pure: the same input and PARSER_VERSION give
 * the same facts.
 */
import { RetraceError } from '../../src/errors.ts';
import { MAX_FILE_BYTES_CEILING } from '../ingest/types.ts';
import { loadLanguage, parseWith } from './binding.ts';
import { extractFacts } from './extract.ts';
import type { FileFacts } from './facts.ts';
import { isDeclarationFile, languageSpecFor } from './languages/registry.ts';

export { languageFor } from './languages/registry.ts';
export { parserVersion, PARSER_VERSIONS, parserVersionFor } from './version.ts';
export type { FileFacts } from './facts.ts';

/**
 * Larger files are refused: they are bundles or generated code, and tree-sitter spends seconds on
 * each (STACK.md: 2.6 s for an 8.8 MB bundle). It is the ceiling of `files.maxFileBytes`, which
 * config resolution enforces, so a file ingest admitted is never refused here.
 */
export const MAX_PARSE_BYTES = MAX_FILE_BYTES_CEILING;

/** A file's text, or its UTF-8 bytes (the stage moves them to the worker: no decode or string copy on the main thread). */
export type ParseTaskInput = { path: string; text: string } | { path: string; bytes: ArrayBuffer };

const decoder = new TextDecoder();

export default async function parseTask(task: ParseTaskInput): Promise<FileFacts> {
  const input = 'text' in task ? task : { path: task.path, text: decoder.decode(task.bytes) };
  const spec = languageSpecFor(input.path);
  if (!spec) {
    throw new RetraceError('PARSE_FAILED', 'no grammar is registered for this file type', {
      item: input.path,
      hint: 'only call parseTask for paths where languageFor(path) is defined',
    });
  }
  const bytes = Buffer.byteLength(input.text, 'utf8');
  if (bytes > MAX_PARSE_BYTES) {
    throw new RetraceError('FILE_TOO_LARGE', `${bytes} bytes is over the parser's limit of ${MAX_PARSE_BYTES}`, {
      item: input.path,
      hint: 'large files are usually bundles or generated; exclude them from analysis',
    });
  }
  const lang = await loadLanguage(spec);
  try {
    const facts = parseWith(lang, input.text, (root) => extractFacts(spec, lang.queries, root, input.text));
    if (isDeclarationFile(input.path)) facts.declarations = true;
    return facts;
  } catch (err) {
    throw new RetraceError('PARSE_FAILED', (err as Error).message, { item: input.path, cause: err });
  }
}
