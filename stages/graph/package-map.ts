/**
 * package.json "exports" and "imports" maps, following Node's PACKAGE_EXPORTS_RESOLVE and
 * PACKAGE_IMPORTS_RESOLVE (nodejs.org/api/esm.html#resolution-algorithm-specification):
 * exact subpaths, then '*' patterns (most specific key wins), conditions tried in the object's
 * key order, arrays as fallbacks, null as "blocked". Targets are returned unresolved (as
 * written); the caller maps them onto repository files.
 */

/**
 * - { target }: the mapped target, '*' already substituted
 * - { blocked }: the entry exists but maps to null (or no condition applies)
 * - { notMatched }: no key matches the request
 */
export type MapResult = { target: string } | { blocked: true } | { notMatched: true };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `exports` for the request '.' or './sub'. */
export function resolveExportsMap(exports: unknown, subpath: string, conditions: readonly string[]): MapResult {
  const map = exports as Json;
  const isSubpathMap =
    map !== null && typeof map === 'object' && !Array.isArray(map) && Object.keys(map).some((k) => k.startsWith('.'));
  if (!isSubpathMap) {
    // A string, an array or a conditions object is the export of '.' alone.
    if (subpath !== '.') return { notMatched: true };
    return targetResult(resolveTarget(map, undefined, conditions));
  }
  return resolveMap(map as Record<string, Json>, subpath, conditions);
}

/** `imports` for a request starting with '#'. */
export function resolveImportsMap(imports: unknown, request: string, conditions: readonly string[]): MapResult {
  if (imports === null || typeof imports !== 'object' || Array.isArray(imports)) return { notMatched: true };
  return resolveMap(imports as Record<string, Json>, request, conditions);
}

function resolveMap(map: Record<string, Json>, request: string, conditions: readonly string[]): MapResult {
  if (Object.hasOwn(map, request) && !request.includes('*')) {
    return targetResult(resolveTarget(map[request], undefined, conditions));
  }
  let bestKey: string | undefined;
  let bestMatch = '';
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star === -1 || key.indexOf('*', star + 1) !== -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    if (!request.startsWith(prefix) || request === prefix) continue;
    if (suffix && (!request.endsWith(suffix) || request.length < key.length)) continue;
    if (bestKey === undefined || patternKeyCompare(bestKey, key) > 0) {
      bestKey = key;
      bestMatch = request.slice(prefix.length, request.length - suffix.length);
    }
  }
  if (bestKey === undefined) return { notMatched: true };
  return targetResult(resolveTarget(map[bestKey], bestMatch, conditions));
}

/** Node's PATTERN_KEY_COMPARE: the longer prefix before '*' wins, then the longer key. */
function patternKeyCompare(a: string, b: string): number {
  const baseA = a.indexOf('*');
  const baseB = b.indexOf('*');
  if (baseA !== baseB) return baseA > baseB ? -1 : 1;
  return a.length > b.length ? -1 : a.length < b.length ? 1 : 0;
}

/** undefined: nothing applies (try the next fallback); null: blocked. */
function resolveTarget(target: Json | undefined, match: string | undefined, conditions: readonly string[]): string | null | undefined {
  if (typeof target === 'string') return match === undefined ? target : target.replaceAll('*', match);
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = resolveTarget(t, match, conditions);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (target !== null && typeof target === 'object') {
    for (const key of Object.keys(target)) {
      if (key !== 'default' && !conditions.includes(key)) continue;
      const r = resolveTarget(target[key], match, conditions);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  return null;
}

function targetResult(target: string | null | undefined): MapResult {
  return typeof target === 'string' ? { target } : { blocked: true };
}
