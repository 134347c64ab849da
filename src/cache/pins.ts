/**
 * Pinned dataset versions (`retrace dataset pin`): `cache gc` keeps everything reachable from
 * them. The list lives beside the LMDB folder as pins.json (`name/id` per entry), replaced
 * atomically; pins are a property of a cache, like what it holds.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RetraceError } from '../errors.ts';

const file = (cacheDir: string): string => join(cacheDir, 'pins.json');

export function readPins(cacheDir: string): string[] {
  const f = file(cacheDir);
  if (!existsSync(f)) return [];
  try {
    const list = JSON.parse(readFileSync(f, 'utf8'));
    if (Array.isArray(list) && list.every((x) => typeof x === 'string' && x.includes('/'))) return list;
  } catch {
    // reported below
  }
  throw new RetraceError('CACHE_PINS_INVALID', 'the pin list is not a JSON list of name/version strings', { item: f, hint: 'fix or delete the file, then pin again' });
}

/** Add or remove a pin; returns whether the list changed. */
export function setPinned(cacheDir: string, ref: string, pinned: boolean): boolean {
  const pins = readPins(cacheDir);
  const has = pins.includes(ref);
  if (has === pinned) return false;
  const next = pinned ? [...pins, ref].sort() : pins.filter((p) => p !== ref);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file(cacheDir)}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n');
  renameSync(tmp, file(cacheDir));
  return true;
}
