/**
 * Dataset versions on disk (src/dataset.ts), in a temporary folder: the Merkle root and version
 * id, the atomic write (a version folder appears only complete), repair of an existing version,
 * and verify.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findVersion, listVersions, merkleRoot, shardsPresent, verifyVersion, versionOf, writeVersion, type ManifestBody, type VersionInfo } from '../src/dataset.ts';
import { diffVersions } from '../src/dataset-diff.ts';
import { canonicalJson } from '../src/key.ts';
import { RetraceError } from '../src/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-dataset-unit-'));
let n = 0;
const freshDir = () => join(tmp, `d${n++}`);
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const enc = new TextEncoder();

/** A manifest body for the given shard contents, with its shard table computed from them. */
function dataset(shards: Record<string, string>, extra: Record<string, unknown> = {}): { body: ManifestBody; bytes: (file: string) => Promise<Uint8Array> } {
  const body: ManifestBody = {
    manifestVersion: 1,
    name: 'demo',
    shards: Object.entries(shards).map(([file, text]) => ({ file, sha256: sha256(text), bytes: enc.encode(text).length, rows: 1, tokens: text.length })),
    sources: [{ dir: 'repos/a', commit: 'abc' }],
    tokenizer: 'llama3',
    ...extra,
  };
  return { body, bytes: async (file) => enc.encode(shards[file]) };
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('merkleRoot: leaves hashed with a domain prefix, pairs combined in order, an odd node promoted', () => {
  const leaf = (s: string) => sha256('leaf:' + s);
  const node = (a: string, b: string) => sha256('node:' + a + b);
  assert.is(merkleRoot([]), sha256(''));
  assert.is(merkleRoot(['a']), leaf('a'));
  assert.is(merkleRoot(['a', 'b']), node(leaf('a'), leaf('b')));
  assert.is(merkleRoot(['a', 'b', 'c']), node(node(leaf('a'), leaf('b')), leaf('c')));
  assert.is.not(merkleRoot(['b', 'a']), merkleRoot(['a', 'b']), 'order matters');
  assert.is.not(merkleRoot(['a', 'b', 'c']), merkleRoot(['a', 'b']));
});

test('the version id changes with one shard byte or one manifest field, and not with key order', () => {
  const ref = versionOf(dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-19' }).body);
  assert.match(ref.version, /^[0-9a-f]{16}$/);
  assert.is(ref.version, ref.merkleRoot.slice(0, 16));
  const same = dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-19' }).body;
  assert.is(versionOf({ tokenizer: same.tokenizer, shards: same.shards, sources: same.sources, name: same.name, manifestVersion: 1 } as ManifestBody).version, ref.version, 'canonical: property order is irrelevant');

  const changed = [
    dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-18' }).body, // one byte of a shard
    dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-19' }, { tokenizer: 'llama3.1' }).body,
    dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-19' }, { sources: [{ dir: 'repos/a', commit: 'abd' }] }).body,
    dataset({ 'shard-00000.parquet': 'rows 0-9', 'shard-00001.parquet': 'rows 10-19' }, { name: 'other' }).body,
    dataset({ 'shard-00001.parquet': 'rows 10-19', 'shard-00000.parquet': 'rows 0-9' }).body, // shard order
    dataset({ 'shard-00000.parquet': 'rows 0-9' }).body, // a shard fewer
  ];
  const ids = changed.map((b) => versionOf(b).version);
  assert.is(new Set([ref.version, ...ids]).size, ids.length + 1, 'every change gives a new id');
  const rows = structuredClone(same);
  rows.shards[0].rows = 2;
  assert.is.not(versionOf(rows).version, ref.version, 'a shard-table field other than the checksum');
});

test('writeVersion: the version folder appears only complete (written under a temporary name, renamed)', async () => {
  const datasets = freshDir();
  const { body, bytes } = dataset({ 'a.parquet': 'first shard', 'b.parquet': 'second shard', 'c.parquet': 'third' });
  const { version } = versionOf(body);
  const finalDir = join(datasets, 'demo', version);
  const seen: Array<{ file: string; finalExists: boolean; entries: string[] }> = [];
  const res = await writeVersion(datasets, body, async (file) => {
    seen.push({ file, finalExists: existsSync(finalDir), entries: readdirSync(join(datasets, 'demo')) });
    return bytes(file);
  });
  assert.equal(seen.map((s) => s.file), ['a.parquet', 'b.parquet', 'c.parquet']);
  for (const s of seen) {
    assert.not.ok(s.finalExists, `no version folder while writing ${s.file}`);
    assert.is(s.entries.length, 1);
    assert.match(s.entries[0], new RegExp(`^\\.tmp-${version}-`));
  }
  assert.is(res.path, finalDir);
  assert.is(res.existed, false);
  assert.equal(res.repaired, []);
  assert.equal(readdirSync(finalDir).sort(), ['a.parquet', 'b.parquet', 'c.parquet', 'manifest.json']);
  assert.is(readFileSync(join(finalDir, 'b.parquet'), 'utf8'), 'second shard');
  const manifest = JSON.parse(readFileSync(join(finalDir, 'manifest.json'), 'utf8'));
  assert.is(manifest.version, version);
  assert.is(manifest.merkleRoot, versionOf(body).merkleRoot);
  assert.equal(manifest.shards, body.shards);
  assert.equal(readdirSync(join(datasets, 'demo')).sort(), [version, 'latest'], 'no temporary folder left');
  assert.is(readlinkSync(join(datasets, 'demo', 'latest')), version);
  assert.ok(shardsPresent(finalDir, manifest));
});

test('writeVersion: a failure while writing leaves no version folder and no temporary folder', async () => {
  const datasets = freshDir();
  const { body, bytes } = dataset({ 'a.parquet': 'first shard', 'b.parquet': 'second shard' });
  const err = await writeVersion(datasets, body, async (file) => {
    if (file === 'b.parquet') throw new Error('shard blob missing');
    return bytes(file);
  }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, 'shard blob missing');
  assert.equal(readdirSync(join(datasets, 'demo')), [], 'nothing half-written, not even `latest`');
  assert.equal(listVersions(datasets), []);
});

test('writeVersion on an existing version: checked, and a missing or resized shard is written again', async () => {
  const datasets = freshDir();
  const { body, bytes } = dataset({ 'a.parquet': 'first shard', 'b.parquet': 'second shard' });
  const first = await writeVersion(datasets, body, bytes);
  const again = await writeVersion(datasets, body, async () => {
    throw new Error('a whole version needs no shard bytes');
  });
  assert.is(again.existed, true);
  assert.equal(again.repaired, []);
  unlinkSync(join(first.path, 'a.parquet'));
  writeFileSync(join(first.path, 'b.parquet'), 'short');
  const repaired = await writeVersion(datasets, body, bytes);
  assert.equal(repaired.repaired.sort(), ['a.parquet', 'b.parquet']);
  assert.ok((await verifyVersion(findVersion(datasets, first.manifest.version))).ok);
  // A same-size flip is only found with verifyExisting (a full checksum).
  writeFileSync(join(first.path, 'a.parquet'), 'First shard');
  assert.equal((await writeVersion(datasets, body, bytes)).repaired, []);
  assert.equal((await writeVersion(datasets, body, bytes, { verifyExisting: true })).repaired, ['a.parquet']);
  assert.is(readFileSync(join(first.path, 'a.parquet'), 'utf8'), 'first shard');
});

test('verifyVersion catches a flipped byte, a missing shard and an edited manifest', async () => {
  const datasets = freshDir();
  const { body, bytes } = dataset({ 'a.parquet': 'first shard', 'b.parquet': 'second shard' });
  const { manifest, path } = await writeVersion(datasets, body, bytes);
  const info = () => findVersion(datasets, manifest.version);
  assert.equal(await verifyVersion(info()), { ok: true, problems: [] });

  const a = join(path, 'a.parquet');
  const orig = readFileSync(a);
  const flipped = Buffer.from(orig);
  flipped[3] ^= 0x01;
  writeFileSync(a, flipped);
  const r1 = await verifyVersion(info());
  assert.is(r1.ok, false);
  assert.equal(r1.problems.map((p) => p.file), ['a.parquet']);
  assert.match(r1.problems[0].problem, /^sha256 /);
  writeFileSync(a, orig);

  unlinkSync(join(path, 'b.parquet'));
  const r2 = await verifyVersion(info());
  assert.equal(r2.problems, [{ file: 'b.parquet', problem: 'missing' }]);
  await writeVersion(datasets, body, bytes); // repaired
  assert.ok((await verifyVersion(info())).ok);

  const mf = join(path, 'manifest.json');
  const edited = JSON.parse(readFileSync(mf, 'utf8'));
  edited.tokenizer = 'something else';
  writeFileSync(mf, JSON.stringify(edited));
  const r3 = await verifyVersion(info());
  assert.equal(r3.problems.map((p) => p.file), ['manifest.json']);
  assert.match(r3.problems[0].problem, /version id does not match/);
});

test('findVersion by id prefix, latest and name/version; an unknown ref is DATASET_NOT_FOUND', async () => {
  const datasets = freshDir();
  const v1 = await writeVersion(datasets, dataset({ 'a.parquet': 'one' }).body, dataset({ 'a.parquet': 'one' }).bytes);
  const v2 = await writeVersion(datasets, dataset({ 'a.parquet': 'two' }).body, dataset({ 'a.parquet': 'two' }).bytes);
  assert.is(findVersion(datasets, 'latest').version, v2.manifest.version, 'latest is the last written');
  assert.is(findVersion(datasets, v1.manifest.version.slice(0, 8)).version, v1.manifest.version);
  assert.is(findVersion(datasets, `demo/${v1.manifest.version}`).path, v1.path);
  assert.equal(listVersions(datasets).map((v) => v.latest).sort(), [false, true]);
  const err = (() => {
    try {
      findVersion(datasets, 'ffffffffffffffff');
    } catch (e) {
      return e;
    }
  })();
  assert.instance(err, RetraceError);
  assert.is((err as RetraceError).code, 'DATASET_NOT_FOUND');
});

/** Many sources (lists over the size the writers split at), values with escapes and non-ASCII text. */
function bigBody(n: number, change = -1): ManifestBody {
  const { body } = dataset({ 'a.parquet': 'first shard' });
  body.sources = Array.from({ length: n }, (_, i) => ({
    source: { dir: `repos/é-${i}` },
    name: `r"${i}`,
    snapshot: i === change ? 'changed' : `s${i}`,
    skipped: i % 7 === 0 ? [{ path: `a\n${i}.min.js`, code: 'FILE_MINIFIED' }] : [],
    ...(i % 11 === 0 ? { license: null } : {}),
  }));
  body.documents = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, tokens: i }));
  return body;
}

test('a manifest of many sources: the same version id and manifest.json bytes as the one-string code (written in pieces, issue 17)', async () => {
  const body = bigBody(500);
  const oneString = merkleRoot([...body.shards.map((s) => s.sha256), sha256(canonicalJson(body))]);
  assert.is(versionOf(body).merkleRoot, oneString);
  const datasets = freshDir();
  const w = await writeVersion(datasets, body, async () => enc.encode('first shard'));
  assert.is(readFileSync(join(w.path, 'manifest.json'), 'utf8'), JSON.stringify(w.manifest, null, 2) + '\n');
  // Re-checking the existing version compares digests: nothing to repair.
  assert.equal((await writeVersion(datasets, body, async () => enc.encode('first shard'))).repaired, []);
});

test('a damaged manifest.json: listing reads no manifest, reading it is DATASET_CORRUPT naming it, writeVersion writes it again', async () => {
  const datasets = freshDir();
  const { body, bytes } = dataset({ 'a.parquet': 'first shard' });
  const w = await writeVersion(datasets, body, bytes);
  const mf = join(w.path, 'manifest.json');
  const good = readFileSync(mf);
  writeFileSync(mf, '{"shards": [');
  const v = findVersion(datasets, w.manifest.version);
  assert.is(v.version, w.manifest.version);
  try {
    void v.manifest;
    assert.unreachable('a damaged manifest was read');
  } catch (err) {
    assert.instance(err, RetraceError);
    assert.is((err as RetraceError).code, 'DATASET_CORRUPT');
    assert.is((err as RetraceError).item, mf);
  }
  assert.equal((await writeVersion(datasets, body, bytes)).repaired, ['manifest.json']);
  assert.ok(readFileSync(mf).equals(good));
});

/** The diff as it was: every leaf of each manifest in a map by path, then compared (test reference). */
function referenceDiff(a: Record<string, unknown>, b: Record<string, unknown>, skip: Set<string>) {
  const flatten = (v: unknown, prefix: string, out: Map<string, string>): void => {
    if (Array.isArray(v) && v.some((x) => x && typeof x === 'object')) v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
    else out.set(prefix, canonicalJson(v));
  };
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  for (const [k, v] of Object.entries(a)) if (!skip.has(k)) flatten(v, k, fa);
  for (const [k, v] of Object.entries(b)) if (!skip.has(k)) flatten(v, k, fb);
  const out: Array<{ field: string; a: unknown; b: unknown }> = [];
  for (const field of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    if (fa.get(field) !== fb.get(field)) out.push({ field, a: fa.has(field) ? JSON.parse(fa.get(field)!) : undefined, b: fb.has(field) ? JSON.parse(fb.get(field)!) : undefined });
  }
  return out;
}

test('dataset diff walks both manifests at once and names the same fields as comparing every leaf by path', () => {
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const leaf = () => pick<unknown>([1, 2, 'x', 'y', null, true, [], [1, 2], [3], {}, { a: 1 }, [{ a: 1 }], [{ a: 2 }, 3]]);
  const mutate = (v: unknown, depth: number): unknown => {
    if (depth > 3 || (depth > 0 && rnd() < 0.3)) return rnd() < 0.5 ? v : leaf();
    if (Array.isArray(v)) {
      const out = v.map((x) => mutate(x, depth + 1));
      if (rnd() < 0.2) out.push(leaf());
      if (rnd() < 0.2) out.pop();
      return out;
    }
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (rnd() > 0.1) out[k] = mutate(x, depth + 1);
      if (rnd() < 0.2) out[pick(['new', 'other', 'a'])] = leaf();
      return out;
    }
    return rnd() < 0.3 ? leaf() : v;
  };
  const info = (m: Record<string, unknown>, v: string) => ({ name: 'demo', version: v, path: '', latest: false, partial: false, manifest: { ...m, shards: [] } }) as unknown as VersionInfo;
  const base = bigBody(20) as unknown as Record<string, unknown>;
  let changed = 0;
  for (let n = 0; n < 300; n++) {
    const a = mutate(base, 0) as Record<string, unknown>;
    const b = mutate(a, 0) as Record<string, unknown>;
    const got = diffVersions(info(a, 'a'), info(b, 'b')).settings;
    assert.equal(got, referenceDiff(a, b, new Set(['shards', 'version', 'merkleRoot'])), `pair ${n}`);
    changed += got.length;
  }
  assert.ok(changed > 300, `the pairs differ (${changed} fields changed in all)`);
  // Of two manifests of many sources, the one changed snapshot is the one field named.
  const d = diffVersions(info(bigBody(2000) as never, 'a'), info(bigBody(2000, 1234) as never, 'b'));
  assert.equal(d.settings, [{ field: 'sources[1234].snapshot', a: 's1234', b: 'changed' }]);
});

test.run();
