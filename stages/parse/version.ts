/**
 * PARSER_VERSION: changes whenever the facts for the same input could change. It covers the
 * binding, each grammar (version and the WASM bytes), the query sources, the extractor and the
 * FileFacts shape. The engine puts it into every cache key over facts.
 */
import { readFileSync } from 'node:fs';
import { hashText, initHash } from '../../src/hash.ts';
import { BINDING } from './binding-version.ts';
import { EXTRACTOR_VERSION } from './extract.ts';
import { FACTS_VERSION } from './facts.ts';
import { LANGUAGES } from './languages/registry.ts';

await initHash();

const parts = {
  binding: BINDING,
  facts: FACTS_VERSION,
  extractor: EXTRACTOR_VERSION,
  languages: LANGUAGES.map((lang) => ({
    id: lang.id,
    extensions: lang.extensions,
    grammar: lang.grammarVersion,
    grammarWasm: hashText(readFileSync(lang.grammarWasm, 'latin1')),
    queries: lang.queries.map((q) => ({ file: q.file, scope: q.scope, source: hashText(q.source) })),
    docComment: lang.docComment,
  })),
};

export const PARSER_VERSION = `parse-${FACTS_VERSION}.${EXTRACTOR_VERSION}/${BINDING}/${hashText(JSON.stringify(parts)).slice(0, 16)}`;
