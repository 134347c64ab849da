/**
 * One resolver per language, chosen by the importing file's language (the parse registry's
 * extension map). A new language (Go, Rust) adds its resolver here: a function from an import
 * (specifier, kind, names) to repository files, builtins, external packages or an unresolved
 * reason. JavaScript keeps Node's rules; TypeScript and TSX share tsc's; Python has its own.
 */
import { languageFor } from '../parse/languages/registry.ts';
import type { Configs } from './configs.ts';
import { createPythonResolver } from './resolve-python.ts';
import { createTsResolver } from './resolve-typescript.ts';
import { createResolver, type Resolution } from './resolve.ts';
import type { GraphImport } from './types.ts';

export interface LanguageResolver {
  resolve(from: string, imp: GraphImport): Resolution[];
}

export interface Resolvers {
  /** The resolver for a file's language, or undefined when its language has none. */
  forFile(path: string): LanguageResolver | undefined;
}

export function createResolvers(files: ReadonlySet<string>, packageJson: unknown, configs: Configs): Resolvers {
  const cache = new Map<string, LanguageResolver | undefined>();
  const make = (language: string): LanguageResolver | undefined => {
    switch (language) {
      case 'javascript': {
        const r = createResolver(files, packageJson);
        return { resolve: (from, imp) => [r.resolve(from, imp.specifier, imp.kind)] };
      }
      case 'typescript':
      case 'tsx': {
        const r = cache.get('typescript') ?? wrapTs(files, packageJson, configs);
        cache.set('typescript', r);
        return r;
      }
      case 'python':
        return createPythonResolver(files, configs);
      default:
        return undefined;
    }
  };
  return {
    forFile(path) {
      const language = languageFor(path);
      if (!language) return undefined;
      if (!cache.has(language)) cache.set(language, make(language));
      return cache.get(language);
    },
  };
}

function wrapTs(files: ReadonlySet<string>, packageJson: unknown, configs: Configs): LanguageResolver {
  const r = createTsResolver(files, packageJson, configs);
  return { resolve: (from, imp) => [r.resolve(from, imp.specifier, imp.kind)] };
}
