/**
 * Parser versions: they change whenever the facts for the same input could change. Each language
 * has its own (`parserVersionFor`), covering the binding, the extractor, the FileFacts shape and
 * that language's entry alone (grammar version and WASM bytes, query sources, doc-comment rules),
 * so adding or editing one language never invalidates the cached facts of another. The parse
 * stage keys each file by its language's version; parserVersion() (every language) is what
 * reports print.
 */
import { readFileSync } from 'node:fs';
import { hashText, initHash } from '../../src/hash.ts';
import { BINDING } from './binding-version.ts';
import { EXTRACTOR_VERSION } from './extract.ts';
import { FACTS_VERSION } from './facts.ts';
import { LANGUAGES, type LanguageSpec } from './languages/registry.ts';

await initHash();

function languagePart(lang: LanguageSpec): unknown {
  return {
    id: lang.id,
    extensions: lang.extensions,
    grammar: lang.grammarVersion,
    grammarWasm: hashText(readFileSync(lang.grammarWasm, 'latin1')),
    queries: lang.queries.map((q) => ({ file: q.file, scope: q.scope, source: hashText(q.source) })),
    docComment: lang.docComment,
    weakImportInside: lang.weakImportInside ?? [],
    declarationSuffixes: lang.declarationSuffixes ?? [],
  };
}

function versionOf(languages: unknown[]): string {
  const parts = { binding: BINDING, facts: FACTS_VERSION, extractor: EXTRACTOR_VERSION, languages };
  return `parse-${FACTS_VERSION}.${EXTRACTOR_VERSION}/${BINDING}/${hashText(JSON.stringify(parts)).slice(0, 16)}`;
}

// Computed on first use, language by language, not at load: hashing the grammars' WASM files
// costs ~0.1 s of CPU, which a no-op build and every parse worker (which imports this module but
// needs no version) skip, and a build whose memos answer every repository pays only for the
// languages its manifest pins.
const perLanguage = new Map<string, string>();

/** The parser version of one language (the parse stage's key setting for its files). */
export function parserVersionFor(language: string): string {
  let v = perLanguage.get(language);
  if (v === undefined) {
    const lang = LANGUAGES.find((l) => l.id === language);
    if (!lang) throw new Error(`no language '${language}' is registered`);
    v = versionOf([languagePart(lang)]);
    perLanguage.set(language, v);
  }
  return v;
}

/** Every language's parser version, by language id (the manifest pins the ones a build used); each computed when read. */
export const PARSER_VERSIONS: Readonly<Record<string, string>> = Object.freeze(
  Object.defineProperties({}, Object.fromEntries(LANGUAGES.map((lang) => [lang.id, { enumerable: true, get: () => parserVersionFor(lang.id) }]))),
);

let all: string | undefined;

/** One version over every registered language. */
export function parserVersion(): string {
  return (all ??= versionOf(LANGUAGES.map(languagePart)));
}
