/**
 * The words of `retrace explain` and `retrace status`: which file or setting changed, rather than
 * which key part's hash did. An `inputs.content` change of a `repo:path` item is that file's
 * content; a changed upstream input (a hash of another item's output) is traced to the files of
 * the same repository whose content changed between this item's two builds.
 */
import type { ItemState } from '../src/cache/cache.ts';
import type { Explanation } from '../src/explain.ts';
import type { KeyChange } from '../src/key.ts';

const repoOf = (item: string): string => item.split(':')[0];
const pathOf = (item: string): string | undefined => (item.includes(':') ? item.slice(item.indexOf(':') + 1) : undefined);
const shortVal = (v: unknown): string => {
  if (v === undefined) return '(absent)';
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[0-9a-f]{24,}$/.test(t) ? t.slice(0, 12) + '…' : t.length > 70 ? t.slice(0, 67) + '...' : t;
};

/** One change in words. */
export function changeWords(item: string, c: KeyChange): string {
  const path = pathOf(item);
  if (c.field === 'inputs.content' && path) return `the content of ${path} (repository ${repoOf(item)}) changed`;
  if (c.field === 'version') return `the stage's code version changed: ${shortVal(c.before)} -> ${shortVal(c.after)}`;
  if (c.field === 'stage') return `the stage changed: ${shortVal(c.before)} -> ${shortVal(c.after)}`;
  if (c.field.startsWith('settings.')) return `setting ${c.field.slice('settings.'.length)} changed: ${shortVal(c.before)} -> ${shortVal(c.after)}`;
  if (c.before === undefined) return `a new input ${c.field.slice('inputs.'.length)} (${shortVal(c.after)})`;
  if (c.after === undefined) return `input ${c.field.slice('inputs.'.length)} is gone`;
  return `its input ${c.field.slice('inputs.'.length)} (an upstream result) changed: ${shortVal(c.before)} -> ${shortVal(c.after)}`;
}

/** Files of the item's repository whose content changed between the item's previous build and its last one. */
export function changedFilesFor(state: ItemState, all: ItemState[]): string[] {
  if (!state.previous) return [];
  const repo = repoOf(state.item);
  const since = state.previous.builtAt;
  const files = new Set<string>();
  for (const s of all) {
    if (!s.previous || repoOf(s.item) !== repo || !pathOf(s.item) || s === state) continue;
    if (s.builtAt <= since || s.builtAt > state.builtAt) continue;
    if (s.previous.parts.inputs.content !== undefined && s.previous.parts.inputs.content !== s.parts.inputs.content) files.add(pathOf(s.item)!);
  }
  return [...files].sort();
}

export function formatWhy(e: Explanation, state: ItemState, all: ItemState[]): string {
  const head = `${e.stage} ${e.item}  (last computed or confirmed ${e.builtAt})`;
  if (e.status === 'new') return `${head}\n  computed once (later builds answered it from the cache): no earlier build to compare with`;
  const lines = e.changes.map((c) => `  ${changeWords(e.item, c)}`);
  const upstream = e.changes.some((c) => c.field.startsWith('inputs.') && !(c.field === 'inputs.content' && pathOf(e.item)));
  const files = upstream ? changedFilesFor(state, all) : [];
  if (files.length) lines.push(`  files of ${repoOf(e.item)} changed since its previous build: ${files.slice(0, 10).join(', ')}${files.length > 10 ? ` and ${files.length - 10} more` : ''}`);
  const out = e.outputChanged === false ? '  output unchanged (early cutoff: dependents did not re-run)' : '  output changed';
  return [head, '  re-ran because:', ...(lines.length ? lines : ['  nothing in its key changed (its cached result had been evicted or lost)']), out].join('\n');
}
