/**
 * The remote cache tier over HTTP against a real nginx WebDAV server (scripts/nginx-webdav.sh),
 * through the real `retrace` binary: push/pull between machines (separate cache folders), a
 * read-only client, a refused token, a corrupted remote blob, injected untrusted results, and
 * garbage collection on the remote. "Machines" share one project folder but nothing else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, computed } from './helpers/project.ts';
import { startWebdav, type Webdav } from './helpers/webdav.ts';
import { initHash, hashBytes } from '../src/hash.ts';
import { signRecord } from '../src/cache/sign.ts';

const TOKEN = 'test-token-7f3a';
const env = { RT_TOKEN: TOKEN, RT_SIGN: 'signing-key-1' };
const p = new Project('retrace-remote-');
p.repo('alpha', {
  'package.json': JSON.stringify({ name: 'alpha', main: 'index.js' }),
  'index.js': "const { add } = require('./lib/util');\nmodule.exports = (xs) => xs.reduce(add, 0);\n",
  'lib/util.js': 'exports.add = (a, b) => a + b;\n',
  'lib/mul.js': 'exports.mul = (a, b) => a * b;\n',
});
p.repo('beta', {
  'package.json': JSON.stringify({ name: 'beta', type: 'module' }),
  'src/main.mjs': "import { greet } from './greet.mjs';\nconsole.log(greet('world'));\n",
  'src/greet.mjs': 'export const greet = (n) => `hello ${n}`;\n',
});

let dav: Webdav;
let version: string;
// Nothing computed, but for the memos keyed by the sources' stat stamps (mtime, ctime, inode),
// which an edited-then-restored file or another machine changes: `hygiene-scan` (the hygiene pass)
// and `source` (a repository's chain), re-made from cached items.
const zero = (summary: any) => Object.entries(computed(summary)).every(([stage, n]) => n === 0 || stage === 'hygiene-scan' || stage === 'source');
const writes = (lines: string[]) => lines.filter((l) => /^(PUT|DELETE|MKCOL|MOVE|COPY) /.test(l));

/** A config file per role; all build the same dataset (remote settings are not part of keys). */
function config(file: string, remote: Record<string, unknown>): string {
  p.config({ name: 'fixture', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }], workers: 2, cache: { remote: { url: dav.url, tokenEnv: 'RT_TOKEN', signingKeyEnv: 'RT_SIGN', ...remote } } }, file);
  return file;
}

function build(cfg: string, cache: string, extraEnv: Record<string, string> = {}, args: string[] = []) {
  const r = p.run(['build', '--json', '--config', cfg, ...args], { cacheDir: p.path(cache), outDir: p.path('out-' + cache), env: { ...env, ...extraEnv } });
  assert.is(r.code, 0, r.stderr);
  return r;
}

/** Action records on the server's disk, with the stage and item they answer. */
function serverRecords(): Array<{ file: string; rec: any }> {
  const out: Array<{ file: string; rec: any }> = [];
  for (const d of readdirSync(join(dav.root, 'ac'))) for (const f of readdirSync(join(dav.root, 'ac', d))) {
    const file = join(dav.root, 'ac', d, f);
    out.push({ file, rec: JSON.parse(readFileSync(file, 'utf8')) });
  }
  return out;
}
/**
 * `cache push` also wrote the version's records in packs (signed copies, outputs inlined), which
 * the prefetch reads first: tests that damage ac/ or cas/ remove them, so the damaged copies are
 * what the build reads (a forged pack entry is covered in cache-remote-lazy.test.ts).
 */
const dropPacks = () => rmSync(join(dav.root, 'packs'), { recursive: true, force: true });
/**
 * A repository's memo answers its whole chain after checking that the chain's records exist on
 * the remote, without reading them (tiered.ts hasActions): the builds that must meet damaged
 * entries walk every item with --recheck, which reads them as any build reading them would.
 */
const RECHECK = ['--recheck'];
const recordOf = (stage: string, item: string) => {
  const r = serverRecords().find((x) => x.rec.stage === stage && x.rec.item === item);
  assert.ok(r, `no ${stage} record for ${item} on the server`);
  return r!;
};

test.before(async () => {
  await initHash();
  dav = await startWebdav({ token: TOKEN });
  config('off.config.ts', { mode: 'off' });
  config('ro.config.ts', { mode: 'read-only' });
  config('rw.config.ts', { mode: 'read-write' });
});

test('machine A builds and pushes; a second push sends nothing', () => {
  const a = build('off.config.ts', 'cacheA');
  version = a.json.version;
  assert.is(a.json.remote, undefined, "mode 'off': the build never touches the remote");
  assert.is(writes(dav.log()).length, 0);
  const push = p.run(['cache', 'push', '--json', '--config', 'off.config.ts'], { cacheDir: p.path('cacheA'), outDir: p.path('out-cacheA'), env });
  assert.is(push.code, 0, push.stderr);
  assert.is(push.json.version, `fixture/${version}`);
  assert.ok(push.json.actions >= 10, JSON.stringify(push.json));
  assert.is(push.json.actionsMoved, push.json.actions);
  assert.is(push.json.blobsMoved, push.json.blobs);
  const again = p.run(['cache', 'push', '--json', '--config', 'off.config.ts'], { cacheDir: p.path('cacheA'), outDir: p.path('out-cacheA'), env });
  assert.is(again.code, 0, again.stderr);
  assert.is(again.json.actionsMoved, 0);
  assert.is(again.json.blobsMoved, 0);
  assert.is(again.json.bytesMoved, 0);
});

test('machine B (fresh cache, read-only remote) builds computing nothing, same version, writing nothing', () => {
  const before = dav.log().length;
  const b = build('ro.config.ts', 'cacheB');
  assert.is(b.json.version, version);
  assert.ok(zero(b.json), JSON.stringify(computed(b.json)));
  assert.is(b.json.llm.requests, 0);
  assert.ok(b.json.remote.actionsFetched > 0);
  assert.is(writes(dav.log().slice(before)).length, 0, 'a read-only client never writes');
  const push = p.run(['cache', 'push', '--config', 'ro.config.ts'], { cacheDir: p.path('cacheB'), outDir: p.path('out-cacheB'), env });
  assert.is(push.code, 1);
  assert.match(push.stderr, /REMOTE_READ_ONLY/);
});

test('pull fills a fresh cache; a build with the remote off then computes nothing', () => {
  const pull = p.run(['cache', 'pull', '--json', '--config', 'off.config.ts'], { cacheDir: p.path('cacheC'), env });
  assert.is(pull.code, 0, pull.stderr);
  assert.is(pull.json.version, `fixture/${version}`);
  assert.is(pull.json.unavailable, 0);
  assert.is(pull.json.actionsMoved, pull.json.actions);
  const c = build('off.config.ts', 'cacheC');
  assert.is(c.json.version, version);
  assert.ok(zero(c.json), JSON.stringify(computed(c.json)));
});

test('status answers from the remote; a new salt disowns what it holds', () => {
  const st = p.run(['status', '--json', '--config', 'ro.config.ts'], { cacheDir: p.path('cacheS'), env });
  assert.is(st.code, 0, st.stderr);
  assert.is(st.json.upToDate, true);
  const salted = p.config({ name: 'fixture', format: 'raw', sources: [{ dir: 'repos/alpha' }, { dir: 'repos/beta' }], cache: { salt: 'v2', remote: { url: dav.url, mode: 'read-only', tokenEnv: 'RT_TOKEN', signingKeyEnv: 'RT_SIGN' } } }, 'salt.config.ts');
  const st2 = p.run(['status', '--json', '--config', salted], { cacheDir: p.path('cacheS2'), env });
  assert.is(st2.code, 0, st2.stderr);
  assert.is(st2.json.upToDate, false);
});

test('a wrong token: one clear REMOTE_AUTH warning, and the build goes on locally', () => {
  const d = build('ro.config.ts', 'cacheD', { RT_TOKEN: 'wrong' });
  assert.is(d.json.version, version);
  assert.is(d.json.remote.disabled, 'REMOTE_AUTH');
  assert.ok(d.json.stages.ingest.computed > 0);
  const warnings = d.stderr.split('\n').filter((l) => l.includes('REMOTE_AUTH'));
  assert.is(warnings.length, 1, d.stderr);
  assert.match(warnings[0], /HTTP 401/);
  assert.match(warnings[0], /RT_TOKEN|tokenEnv/);
  assert.match(warnings[0], /goes on with the local cache/);
});

test('a corrupted remote blob is discarded and recomputed; the version is unchanged and the remote repaired', () => {
  // The record's output: a hit reads it (its refs are fetched only if a stage reads them). The
  // record is rewritten as a Retrace without inlined outputs wrote it (re-signed), so the
  // output comes from cas/.
  const ingest = recordOf('ingest', 'alpha:lib/util.js');
  const blob = ingest.rec.output as string;
  assert.type(ingest.rec.inline, 'string', 'pushed records carry small outputs inline');
  const { sig: _sig, inline: _inline, ...body } = ingest.rec;
  writeFileSync(ingest.file, JSON.stringify({ ...body, sig: signRecord(env.RT_SIGN, ingest.file.split('/').pop()!, body) }));
  dropPacks();
  const path = join(dav.root, 'cas', blob.slice(0, 2), blob);
  const bytes = readFileSync(path);
  bytes[0] ^= 0x20;
  writeFileSync(path, bytes);
  const e = build('rw.config.ts', 'cacheE', {}, RECHECK);
  assert.is(e.json.version, version);
  assert.is(e.json.stages.ingest.computed, 1, JSON.stringify(computed(e.json)));
  assert.is(e.json.remote.corruptBlobs, 1);
  assert.match(e.stderr, /REMOTE_BLOB_CORRUPT/);
  // The read-write client re-uploaded the good bytes over the bad ones.
  assert.is(hashBytes(readFileSync(path)), blob);
});

test('with signing on, unsigned, foreign-signed and altered results are ignored', () => {
  const unsigned = recordOf('ingest', 'alpha:index.js');
  const { sig: _s1, ...bare } = unsigned.rec;
  assert.ok(typeof _s1 === 'string', 'pushed records are signed');
  writeFileSync(unsigned.file, JSON.stringify(bare));
  const foreign = recordOf('ingest', 'alpha:lib/mul.js');
  const { sig: _s2, ...rec2 } = foreign.rec;
  const key2 = foreign.file.split('/').pop()!;
  writeFileSync(foreign.file, JSON.stringify({ ...rec2, sig: signRecord('some-other-key', key2, rec2) }));
  // Altered: another file's output under this key, keeping the original signature.
  const altered = recordOf('ingest', 'beta:src/greet.mjs');
  const other = recordOf('ingest', 'beta:src/main.mjs');
  writeFileSync(altered.file, JSON.stringify({ ...altered.rec, output: other.rec.output, refs: other.rec.refs }));
  dropPacks();
  const before = dav.log().length;
  const f = build('ro.config.ts', 'cacheF', {}, RECHECK);
  assert.is(f.json.version, version);
  assert.is(f.json.stages.ingest.computed, 3, JSON.stringify(computed(f.json)));
  assert.is(f.json.remote.rejectedRecords, 3);
  assert.match(f.stderr, /unsigned/);
  assert.match(f.stderr, /bad signature/);
  assert.is(writes(dav.log().slice(before)).length, 0, 'a read-only client never writes, even after computing');
  for (const r of [unsigned, foreign, altered]) writeFileSync(r.file, JSON.stringify(r.rec));
});

test('gc on the remote keeps pinned versions and evicts the rest', () => {
  const pin = p.run(['dataset', 'pin', version, '--json', '--config', 'rw.config.ts'], { cacheDir: p.path('cacheA'), outDir: p.path('out-cacheA'), env });
  assert.is(pin.code, 0, pin.stderr);
  assert.is(pin.json.remote, true);
  // A second version, built and pushed from A, not pinned.
  p.write('repos/alpha/lib/mul.js', 'exports.mul = (a, b) => a * b * 1;\n');
  const v2 = build('rw.config.ts', 'cacheA');
  assert.is.not(v2.json.version, version);
  const mulRecords = () => serverRecords().filter((x) => x.rec.item === 'alpha:lib/mul.js' && (x.rec.stage === 'ingest' || x.rec.stage === 'parse')).length;
  assert.is(mulRecords(), 4, 'ingest and parse of mul.js, for v1 and for v2');
  const gc = p.run(['cache', 'gc', '--remote', '--max-age', '0s', '--max-size', '1B', '--json', '--config', 'rw.config.ts'], { cacheDir: p.path('cacheG'), env });
  assert.is(gc.code, 0, gc.stderr);
  assert.equal(gc.json.remote.pinned, [`fixture/${version}`]);
  assert.ok(gc.json.remote.actionsRemoved > 0);
  assert.ok(gc.json.remote.blobsRemoved > 0);
  assert.is(mulRecords(), 2, 'only v1 records of mul.js are left');
  const v2Content = hashBytes(new TextEncoder().encode('exports.mul = (a, b) => a * b * 1;\n'));
  assert.not.ok(existsSync(join(dav.root, 'cas', v2Content.slice(0, 2), v2Content)), 'v2-only blobs are gone');
  // The pinned version is whole: a fresh cache pulls it completely and rebuilds nothing.
  p.write('repos/alpha/lib/mul.js', 'exports.mul = (a, b) => a * b;\n');
  const pull = p.run(['cache', 'pull', `fixture/${version}`, '--json', '--config', 'off.config.ts'], { cacheDir: p.path('cacheH'), env });
  assert.is(pull.code, 0, pull.stderr);
  assert.is(pull.json.unavailable, 0);
  const h = build('off.config.ts', 'cacheH');
  assert.is(h.json.version, version);
  assert.ok(zero(h.json), JSON.stringify(computed(h.json)));
});

test.after(async () => {
  await dav?.stop();
  p.cleanup();
});
test.run();
