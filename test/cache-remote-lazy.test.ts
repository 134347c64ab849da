/**
 * Warm builds from a shared cache fetch only what they read (issue 17), in process against a
 * shared directory: a remote hit fetches its record and output blob and checks that its refs
 * exist, but downloads a ref only when something reads it; the local tier gets the record once
 * its refs are local (never a record without its blobs); a missing ref is a miss; a damaged or
 * refused ref found when read is reported and never used; the prefetch reads the latest pushed
 * version's records ahead of the build (its packs), and a record and its output land only when
 * read, never its refs unless read; a small output comes inside its record.
 * Signatures still decide trust.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBytes, initHash, type ActionKey, type ContentHash } from '../src/hash.ts';
import { RemoteCache, actionPath, blobPath, packPath } from '../src/cache/remote-cache.ts';
import { DirStore } from '../src/cache/remote-dir.ts';
import { TieredCache } from '../src/cache/tiered.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { recordRoot } from '../src/cache/closure.ts';
import type { ActionRecord } from '../src/cache/cache.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-remote-lazy-'));
let n = 0;
const dir = () => join(tmp, `d${n++}`);
const bytes = (s: string) => new TextEncoder().encode(s);
const key = (i: number) => i.toString(16).padStart(32, '0') as ActionKey;

function record(output: ContentHash, refs: ContentHash[], sizes?: Record<string, number>): ActionRecord {
  return { format: 1, stage: 'tokenize', item: 'repo', output, refs, ...(sizes ? { sizes } : {}), parts: { stage: 'tokenize', version: '1', inputs: {}, settings: {} }, ms: 1, createdAt: 1, usedAt: 1 };
}

/** A remote holding result `k` (an output and two refs), written as a build would push it. */
async function pushed(writer: RemoteCache, k: ActionKey, tag: string): Promise<{ out: ContentHash; refs: ContentHash[] }> {
  const blobs = [bytes(`output ${tag}`), bytes(`ref one ${tag}`), bytes(`ref two ${tag}`)];
  const [out, ...refs] = blobs.map((b) => hashBytes(b));
  for (const b of blobs) await writer.putBlob(hashBytes(b), b);
  await writer.putAction(k, record(out, refs, Object.fromEntries(blobs.map((b) => [hashBytes(b), b.byteLength]))));
  return { out, refs };
}

function tier(root: string, opts: { signingKey?: string; requireSignatures?: boolean } = {}) {
  const warnings: string[] = [];
  const store = new DirStore(root);
  const asked: string[] = [];
  const get = store.get.bind(store);
  store.get = async (p, l) => {
    asked.push(p);
    return get(p, l);
  };
  const local = LmdbCache.open(dir());
  const cache = new TieredCache(local, new RemoteCache(store, { requireSignatures: false, ...opts }), 'read-only', (code, _item, msg) => warnings.push(`${code} ${msg}`));
  return { cache, local, warnings, asked };
}

test.before(() => initHash());

test('a hit fetches its record and output only; a ref is fetched when read; the record lands locally with its refs', async () => {
  const root = dir();
  const { out, refs } = await pushed(new RemoteCache(new DirStore(root), { requireSignatures: false }), key(1), 'a');
  const { cache, local, warnings, asked } = tier(root);
  const rec = await cache.getAction(key(1));
  assert.ok(rec, 'a remote hit');
  assert.ok(await cache.refsAvailable(rec!), 'its refs are on the remote');
  assert.equal(await cache.getBlob(out), bytes('output a'));
  assert.equal(asked.filter((p) => p.startsWith('cas/')), [blobPath(out)], 'only the output was downloaded');
  await cache.flush();
  assert.is(await local.getAction(key(1)), undefined, 'not kept locally while its refs are only on the remote');
  assert.ok(await local.getBlob(out), 'the output blob is kept');
  assert.is(cache.summary().blobsLeft, 2);
  // A stage reads the refs: fetched (re-hashed), then the record is complete locally.
  assert.equal(await cache.getBlob(refs[0]!), bytes('ref one a'));
  await cache.flush();
  assert.is(await local.getAction(key(1)), undefined, 'one ref still missing');
  assert.equal(await cache.getBlob(refs[1]!), bytes('ref two a'));
  await cache.flush();
  assert.ok(await local.getAction(key(1)), 'kept locally once every ref is local');
  assert.is(cache.summary().blobsLeft, 0);
  assert.is(cache.summary().blobsFetched, 3);
  assert.equal(warnings, []);
  await cache.close();
});

test('a ref missing on the remote makes the record a miss', async () => {
  const root = dir();
  const { refs } = await pushed(new RemoteCache(new DirStore(root), { requireSignatures: false }), key(2), 'b');
  rmSync(join(root, blobPath(refs[1]!)));
  const { cache, local } = tier(root);
  assert.is(await cache.getAction(key(2)), undefined);
  await cache.flush();
  assert.is(await local.getAction(key(2)), undefined);
  await cache.close();
});

test('a damaged ref found when read is reported, never returned, and its record is forgotten', async () => {
  const root = dir();
  const { refs } = await pushed(new RemoteCache(new DirStore(root), { requireSignatures: false }), key(3), 'c');
  writeFileSync(join(root, blobPath(refs[0]!)), 'ref ONE c');
  const { cache, local, warnings } = tier(root);
  const rec = await cache.getAction(key(3));
  assert.ok(rec && (await cache.refsAvailable(rec)), 'the existence check cannot see damage');
  assert.is(await cache.getBlob(refs[0]!), undefined, 'damaged bytes are never handed out');
  assert.ok(warnings.some((w) => w.startsWith('REMOTE_BLOB_CORRUPT')), warnings.join('\n'));
  assert.not.ok(await cache.refsAvailable(rec!), 'known bad for the rest of the run');
  assert.is(await cache.getAction(key(3)), undefined, 'the record is forgotten: a later lookup recomputes');
  await cache.getBlob(refs[1]!);
  await cache.flush();
  assert.is(await local.getAction(key(3)), undefined, 'never kept locally');
  assert.is(cache.summary().corruptBlobs, 1);
  const localDir = local.dir;
  await cache.close();
  // The next build on this machine: the remote still says the blob exists, but it was noted bad
  // here, so the result is a miss (recomputed) rather than the same failure again.
  const again = new TieredCache(LmdbCache.openAt(localDir), new RemoteCache(new DirStore(root), { requireSignatures: false }), 'read-only', () => {});
  assert.is(await again.getAction(key(3)), undefined);
  await again.close();
});

test('a ref that is a symbolic link or over its stated size is refused by the existence check: the hit is a miss (bounded reads)', async () => {
  const root = dir();
  const { refs } = await pushed(new RemoteCache(new DirStore(root), { requireSignatures: false }), key(4), 'd');
  const target = join(root, 'elsewhere');
  writeFileSync(target, 'ref one d');
  rmSync(join(root, blobPath(refs[0]!)));
  symlinkSync(target, join(root, blobPath(refs[0]!)));
  writeFileSync(join(root, blobPath(refs[1]!)), 'ref two d, and then much more than its record says');
  const { cache, warnings } = tier(root);
  // Refused before the hit is accepted, so no stage meets a missing blob later (it recomputes).
  assert.is(await cache.getAction(key(4)), undefined);
  assert.is(warnings.filter((w) => w.startsWith('REMOTE_ENTRY_REFUSED')).length, 2, warnings.join('\n'));
  assert.is(cache.summary().refusedEntries, 2);
  assert.is(await cache.getBlob(refs[0]!), undefined);
  assert.is(await cache.getBlob(refs[1]!), undefined);
  await cache.close();
});

test('signatures: with a key required, an unsigned remote record is ignored and nothing of it fetched', async () => {
  const root = dir();
  await pushed(new RemoteCache(new DirStore(root), { requireSignatures: false }), key(5), 'e');
  const { cache, warnings, asked } = tier(root, { signingKey: 'k', requireSignatures: true });
  assert.is(await cache.getAction(key(5)), undefined);
  assert.ok(warnings.some((w) => w.startsWith('REMOTE_UNTRUSTED') && w.includes('unsigned')), warnings.join('\n'));
  assert.equal(asked.filter((p) => p.startsWith('cas/')), []);
  await cache.close();
});

test('prefetch: the latest version\'s records are read ahead of the build, a bounded window at a time; a record and its output land when read, refs left on the remote', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { requireSignatures: false });
  const keys = Array.from({ length: 40 }, (_, i) => key(100 + i));
  const outs: ContentHash[] = [];
  for (const [i, k] of keys.entries()) outs.push((await pushed(writer, k, `p${i}`)).out);
  // The version root, as `cache push` leaves it: a key list blob and the root record.
  const src = LmdbCache.open(dir());
  await recordRoot(src, 'ds', 'v1', keys);
  const { rootKey } = await import('../src/cache/closure.ts');
  const root1 = (await src.getAction(rootKey('ds', 'v1')))!;
  // The root's head blob and its key chunks (its refs), as `cache push` sends them.
  for (const h of [root1.output, ...root1.refs]) await writer.putBlob(h, (await src.getBlob(h))!);
  await writer.putRoot('ds', 'v1', root1);
  await src.close();

  const store = new DirStore(root);
  let inFlight = 0;
  let most = 0;
  let records = 0;
  const get = store.get.bind(store);
  store.get = async (p, l) => {
    if (p.startsWith('ac/')) records++;
    most = Math.max(most, ++inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1));
      return await get(p, l);
    } finally {
      inFlight--;
    }
  };
  const local = LmdbCache.open(dir());
  const cache = new TieredCache(local, new RemoteCache(store, { requireSignatures: false }), 'read-only', () => {}, 8);
  cache.prefetch('ds');
  await cache.flush();
  assert.ok(most <= 8 + 1, `at most the window in flight (saw ${most})`);
  const s = cache.summary();
  assert.is(s.actionsFetched, 40);
  assert.is(records, 40);
  assert.is(s.blobsFetched, 1 + root1.refs.length, 'the root\'s key list; an output waits for its record to be read');
  // Nothing lands locally before the build reads it.
  for (const [i, k] of keys.entries()) assert.not.ok(await local.getAction(k), `record ${i} not local`);
  for (const [i, o] of outs.entries()) assert.not.ok(await local.hasBlob(o), `output ${i} not local`);
  // The build's own lookups are answered without reading a record again: only their outputs are fetched.
  for (const k of keys) assert.ok(await cache.getAction(k));
  await cache.flush();
  assert.is(records, 40);
  assert.is(cache.summary().blobsFetched, 40 + 1 + root1.refs.length, 'the 40 outputs, once read');
  assert.is(cache.summary().blobsLeft, 80, 'no ref downloaded');
  for (const [i, o] of outs.entries()) assert.ok(await local.getBlob(o), `output ${i} local`);
  await cache.close();
});

test('prefetch reads a pushed version\'s packs: a few requests for all its records; a bad pack entry is found when used and looked up on its own', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { signingKey: 'k', requireSignatures: true });
  const keys = Array.from({ length: 30 }, (_, i) => key(200 + i));
  const recs: Array<[ActionKey, ActionRecord]> = [];
  for (const [i, k] of keys.entries()) {
    const b = bytes(`pack output ${i}`);
    await writer.putBlob(hashBytes(b), b);
    const rec = record(hashBytes(b), []);
    await writer.putAction(k, rec);
    recs.push([k, rec]);
  }
  const src = LmdbCache.open(dir());
  await recordRoot(src, 'ds', 'v1', keys);
  for (const [, r] of recs) await src.putBlob(bytes(`pack output ${recs.findIndex(([, x]) => x === r)}`));
  const { rootKey } = await import('../src/cache/closure.ts');
  const root1 = (await src.getAction(rootKey('ds', 'v1')))!;
  // The root's head blob and its key chunks (its refs), as `cache push` sends them.
  for (const h of [root1.output, ...root1.refs]) await writer.putBlob(h, (await src.getBlob(h))!);
  await writer.putPacks('ds', 'v1', recs, src);
  await writer.putRoot('ds', 'v1', root1);
  await src.close();
  const packFile = join(root, packPath('ds', 'v1', 0));
  const pack = JSON.parse(readFileSync(packFile, 'utf8'));
  assert.is(pack.length, 30);
  assert.ok(typeof pack[0][1].inline === 'string' && typeof pack[0][1].sig === 'string', 'signed bodies with inlined outputs');
  // One entry altered in the pack (its ac/ copy stays good): rejected there, fetched on its own.
  pack[3][1].item = 'forged';
  writeFileSync(packFile, JSON.stringify(pack));

  const { cache, asked, warnings } = tier(root, { signingKey: 'k', requireSignatures: true });
  cache.prefetch('ds');
  await cache.flush();
  const before = cache.summary().requests;
  // latest, root, its key list, pack 0, pack 1 (absent): entries are checked when used.
  assert.is(before, 5 + root1.refs.length, `${before} requests for 30 records`);
  assert.equal(asked.filter((p) => p.startsWith('ac/')), [], 'nothing read from ac/ ahead');
  assert.equal(warnings, []);
  for (const k of keys) assert.ok(await cache.getAction(k), k);
  // The altered entry, checked when read: refused, then read from ac/ on its own.
  assert.ok(warnings.some((w) => w.startsWith('REMOTE_UNTRUSTED') && w.includes('bad signature')), warnings.join('\n'));
  assert.equal(asked.filter((p) => p.startsWith('ac/')), [actionPath(keys[3]!)], 'only the rejected entry is read from ac/');
  // The key list, and the output of the entry read from ac/ (written there without inlining), once read.
  assert.equal(asked.filter((p) => p.startsWith('cas/')).sort(), [root1.output, ...root1.refs, recs[3]![1].output].map((h) => blobPath(h)).sort(), 'the pack\'s outputs came inlined');
  assert.is(cache.summary().requests, before + 2, 'the build asks only for that record and its output');
  await cache.close();
});

test('a memo\'s chain on the remote: present from the packs\' listing or an existence request, never fetched or landed; a stale memo re-stamps what is local', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { requireSignatures: false });
  const src = LmdbCache.open(dir());
  const keys = Array.from({ length: 12 }, (_, i) => key(300 + i));
  const recs: Array<[ActionKey, ActionRecord]> = [];
  for (const [i, k] of keys.entries()) {
    const b = bytes(`chain output ${i}`);
    await writer.putBlob(await src.putBlob(b), b);
    const rec = record(hashBytes(b), []);
    await writer.putAction(k, rec, src);
    recs.push([k, rec]);
  }
  // Packs list the first ten; the last two are only under ac/ (uploaded by a read-write build).
  await recordRoot(src, 'ds', 'v1', keys);
  const { rootKey } = await import('../src/cache/closure.ts');
  const root1 = (await src.getAction(rootKey('ds', 'v1')))!;
  for (const h of [root1.output, ...root1.refs]) await writer.putBlob(h, (await src.getBlob(h))!);
  await writer.putPacks('ds', 'v1', recs.slice(0, 10), src);
  await writer.putRoot('ds', 'v1', root1);
  await src.close();

  const { cache, local, asked, warnings } = tier(root);
  // One record of the chain is local already, stamped long ago.
  const old = { ...recs[0]![1], usedAt: 1 };
  await local.putBlob(bytes('chain output 0'));
  await local.putAction(keys[0]!, old);
  // Without a prefetch: an existence request per key, no record read.
  assert.ok(await cache.hasActions(keys), 'all there');
  assert.not.ok(await cache.hasActions([...keys, key(399)]), 'a key the remote lacks is a miss');
  assert.equal(asked, [], 'no record read');
  const requests = cache.summary().requests;
  // With the prefetch: the packs list ten (the two others are read ahead, in memory); a stale
  // memo's check reads the local record (re-stamping it) and asks nothing more.
  cache.prefetch('ds');
  await cache.flush();
  const ahead = cache.summary().requests;
  assert.ok(await cache.touchActions(keys));
  assert.is(cache.summary().requests, ahead, 'answered from the listing');
  assert.ok(ahead > requests);
  assert.ok((await local.getAction(keys[0]!))!.usedAt > 1, 'the local record was read, so re-stamped');
  for (const k of keys.slice(1)) assert.is(await local.getAction(k), undefined, `${k} not landed`);
  assert.equal(asked.filter((p) => p.startsWith('cas/') && ![root1.output, ...root1.refs].some((h) => p.endsWith(h))), [], 'no output fetched for the chain');
  assert.equal(asked.filter((p) => p.startsWith('ac/')).sort(), keys.slice(10).map((k) => actionPath(k)), 'only the two keys no pack lists are read, ahead');
  assert.equal(warnings, []);
  // A record the build reads is accepted then, from its pack entry (inline output), and lands.
  assert.ok(await cache.getAction(keys[1]!));
  await cache.flush();
  assert.ok(await local.getAction(keys[1]!));
  assert.is(asked.filter((p) => p.startsWith('ac/')).length, 2, 'not read from ac/');
  await cache.close();
});

test('a small output travels inside its record: one request answers a hit; a damaged inline copy is ignored for the blob', async () => {
  const root = dir();
  const writer = new RemoteCache(new DirStore(root), { signingKey: 'k', requireSignatures: true });
  const out = bytes('{"path":"a.js","hash":"..."}');
  const ref = bytes('file contents');
  const local = LmdbCache.open(dir());
  const o = await local.putBlob(out);
  const r = await local.putBlob(ref);
  await writer.putBlob(o, out);
  await writer.putBlob(r, ref);
  await writer.putAction(key(7), record(o, [r], { [o]: out.byteLength, [r]: ref.byteLength }), local);
  await local.close();
  const stored = JSON.parse(readFileSync(join(root, actionPath(key(7))), 'utf8'));
  assert.is(Buffer.from(stored.inline, 'base64').toString(), new TextDecoder().decode(out));

  const { cache, asked, warnings } = tier(root, { signingKey: 'k', requireSignatures: true });
  const rec = await cache.getAction(key(7));
  assert.ok(rec, 'a signed hit');
  assert.is((rec as unknown as { inline?: unknown }).inline, undefined, 'the inline copy is not part of the record');
  assert.equal(await cache.getBlob(o), out);
  assert.equal(asked, [actionPath(key(7))], 'one request: the record');
  assert.is(cache.summary().blobsInlined, 1);
  assert.equal(warnings, []);
  await cache.close();

  // Altered inline bytes under a valid signature are impossible (the signature covers them);
  // without signing, a damaged inline copy is reported and the blob fetched on its own.
  const plain = dir();
  const w2 = new RemoteCache(new DirStore(plain), { requireSignatures: false });
  await w2.putBlob(o, out);
  await w2.putBlob(r, ref);
  mkdirSync(join(plain, 'ac', actionPath(key(7)).split('/')[1]!), { recursive: true });
  writeFileSync(join(plain, actionPath(key(7))), JSON.stringify({ ...stored, sig: undefined, inline: Buffer.from('forged').toString('base64') }));
  const t2 = tier(plain);
  assert.ok(await t2.cache.getAction(key(7)));
  assert.equal(await t2.cache.getBlob(o), out, 'the real blob, from cas/');
  assert.ok(t2.warnings.some((w) => w.startsWith('REMOTE_BLOB_CORRUPT')), t2.warnings.join('\n'));
  assert.ok(t2.asked.includes(blobPath(o)));
  await t2.cache.close();
  const t3 = tier(root, { signingKey: 'k', requireSignatures: true });
  writeFileSync(join(root, actionPath(key(7))), JSON.stringify({ ...stored, inline: Buffer.from('forged').toString('base64') }));
  assert.is(await t3.cache.getAction(key(7)), undefined, 'a signed record with its inline copy altered is rejected');
  assert.ok(t3.warnings.some((w) => w.includes('bad signature')), t3.warnings.join('\n'));
  await t3.cache.close();
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
