/**
 * Temporary files and folders that a killed build leaves behind are removed at the next start
 * (issue 19). Every temp name carries the pid of the process that made it (`tempTag()`), so a
 * sweep removes only what belongs to processes no longer running; names without a pid (written
 * by older versions) go once they are a day old.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const OLD_MS = 24 * 60 * 60 * 1000;

/** `<pid>-<random>`: put it in every temporary name. */
export function tempTag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove entries of `dir` named `<prefix><pid>-...` whose process is gone (or `<prefix>...` with
 * no pid, a day old). Returns the removed names. A missing folder is fine.
 */
export function sweepStale(dir: string, prefixes: readonly string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix === undefined) continue;
    // `...-<pid>-<8 hex>` (tempTag at the end), or `<prefix><pid>-...` (mkdtemp's suffix).
    const m = /-(\d+)-[0-9a-f]{8}$/.exec(name) ?? /^(\d+)-/.exec(name.slice(prefix.length));
    const pid = m ? Number(m[1]) : undefined;
    let stale: boolean;
    if (pid !== undefined && pid > 0) stale = pid !== process.pid && !running(pid);
    else {
      try {
        stale = Date.now() - statSync(join(dir, name)).mtimeMs > OLD_MS;
      } catch {
        stale = false;
      }
    }
    if (!stale) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
