/**
 * `retrace explain <item>`: for every stage item matching the name, the key parts recorded by
 * the last build and the one before it, and which part changed (why it re-ran).
 */
import { diffKeyParts, type KeyChange } from './key.ts';
import type { LmdbCache } from './cache/lmdb-store.ts';
import type { ItemState } from './cache/cache.ts';

export interface Explanation {
  stage: string;
  item: string;
  builtAt: string;
  key: string;
  status: 'new' | 'changed' | 'unchanged-since-first-build';
  changes: KeyChange[];
  outputChanged?: boolean;
}

/** Items whose id equals `query`, or ends with it after a ':' or '/' (e.g. a path inside a repo). */
export function matchItems(cache: LmdbCache, query: string): ItemState[] {
  const out: ItemState[] = [];
  for (const s of cache.itemStates()) {
    if (s.item === query || s.item.endsWith(':' + query) || s.item.endsWith('/' + query) || s.item.startsWith(query + ':')) out.push(s);
  }
  return out;
}

export function explainItem(state: ItemState): Explanation {
  const base = { stage: state.stage, item: state.item, builtAt: new Date(state.builtAt).toISOString(), key: state.key };
  if (!state.previous) return { ...base, status: 'new', changes: [] };
  return {
    ...base,
    status: 'changed',
    changes: diffKeyParts(state.previous.parts, state.parts),
    outputChanged: state.previous.output !== state.output,
  };
}

export function formatExplanation(e: Explanation): string {
  const head = `${e.stage} ${e.item}  (key ${e.key.slice(0, 12)}…, last computed or confirmed ${e.builtAt})`;
  if (e.status === 'new') return `${head}\n  first build of this item: nothing to compare with`;
  const lines = e.changes.map((c) => `  ${c.field}: ${fmt(c.before)} -> ${fmt(c.after)}`);
  const out = e.outputChanged === false ? '  output unchanged (early cutoff: dependents did not re-run)' : '  output changed';
  return [head, '  re-ran because:', ...(lines.length ? lines : ['  (no key part differs)']), out].join('\n');
}

function fmt(v: unknown): string {
  if (v === undefined) return '(absent)';
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t.length > 70 ? t.slice(0, 67) + '...' : t;
}
