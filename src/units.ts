/** Human units on the command line: durations (30d, 12h, 15m, 45s) and sizes (10GB, 512MiB). */
import { RetraceError } from './errors.ts';

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i.exec(s.trim());
  if (!m) throw new RetraceError('USAGE', `cannot read duration "${s}"`, { item: s, hint: 'use e.g. 30d, 12h, 15m or 45s' });
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[(m[2] ?? 's').toLowerCase() as 'ms'];
  return Number(m[1]) * unit;
}

export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/i.exec(s.trim());
  if (!m) throw new RetraceError('USAGE', `cannot read size "${s}"`, { item: s, hint: 'use e.g. 10GB, 512MiB or 1000000' });
  const u = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.floor(Number(m[1]) * mult[u]);
}
