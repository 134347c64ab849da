/**
 * Another process on a test's LMDB cache (test/cache-race.test.ts): run with spawnSync, so the
 * test's own process is blocked meanwhile and keeps the read snapshot it had before.
 *
 *   node --import tsx test/helpers/cache-child.ts <env dir> put <text>   store <text> as a blob
 *   node --import tsx test/helpers/cache-child.ts <env dir> heal <text>  read it (dropping a
 *                                                                          damaged copy), store it
 * Prints the blob's hash and what the read found ('whole', 'missing').
 */
import { initHash } from '../../src/hash.ts';
import { LmdbCache } from '../../src/cache/lmdb-store.ts';

const [dir, op, text] = process.argv.slice(2);
await initHash();
const cache = LmdbCache.openAt(dir!);
const bytes = new TextEncoder().encode(text);
let found = '';
if (op === 'heal') {
  const { hashBytes } = await import('../../src/hash.ts');
  found = (await cache.getBlob(hashBytes(bytes))) ? 'whole' : 'missing';
}
const hash = await cache.putBlob(bytes);
await cache.close();
process.stdout.write(JSON.stringify({ hash, found, dropped: cache.dropped.length }));
