/**
 * Hygiene parts on their own (issue 15): secret rules against real secrets and known false
 * positives, license detection (embedded corpus; LICENSE-only fixtures), near-dedup on real
 * packages (a fork with edited files, a vendored copy, unrelated repositories), decontamination.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CORPUS, corpusRoot, listFiles } from './fixtures/analysis/load.ts';
import { findSecrets, redact } from '../stages/hygiene/secrets.ts';
import { detectLicense, licenseAllowed } from '../stages/hygiene/license.ts';
import { minhash } from '../stages/hygiene/minhash.ts';
import { contaminatedBy } from '../stages/hygiene/decontaminate.ts';
import { codeTokens, ngramHash } from '../stages/hygiene/tokens.ts';
import { decide, decisionsInOrder, type SourceDecision, type SourceScan } from '../stages/hygiene/index.ts';
import { resolveHygiene } from '../stages/hygiene/config.ts';
import { hashText } from '../src/hash.ts';
import { buildRepoGraph } from '../stages/graph/index.ts';

const require = createRequire(import.meta.url);

test('secrets: each kind is found and replaced by its placeholder', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const text = [
    `aws_access_key_id = "AKIAZ7VQ3NRT5KXW2LMB"`,
    `aws_secret_access_key = "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"`,
    `const gh = 'ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy';`,
    `const gl = 'glpat-Zx8Kq2Lm4Np6Rs8Tv0Wy';`,
    `const slack = 'xoxb-2048204820-4096409640961-Qm7vZx8Kq2Lm4Np6Rs8Tv0Wy';`,
    `const stripe = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc00';`,
    `const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';`,
    `db.connect({ user: 'app', password: 'Tr0ub4dor&3x' });`,
    `const apiKey = "Zk3J9qLm2Xv8Rt5Wb7Yc1Nd4";`,
    `// maintainer: ops-team@acme-widgets.io`,
    privateKey,
  ].join('\n');
  const f = await findSecrets(text, 'src/settings.js');
  const kinds = f.map((x) => x.kind);
  for (const k of ['aws-access-key', 'aws-secret-key', 'github-token', 'gitlab-token', 'slack-token', 'stripe-key', 'jwt', 'password', 'generic-secret', 'email', 'private-key']) {
    assert.ok(kinds.includes(k), `${k} not found (found: ${kinds.join(', ')})`);
  }
  const out = redact(text, f);
  for (const s of ['AKIAZ7VQ3NRT5KXW2LMB', 'ghp_R4nD0m', 'glpat-Zx8', 'xoxb-2048', 'sk_live_', 'eyJhbGci', 'Tr0ub4dor', 'Zk3J9qLm', 'ops-team@', privateKey.split('\n')[1]!]) {
    assert.not.ok(out.includes(s), `${s} survived redaction`);
  }
  assert.ok(out.includes('<SECRET:aws-access-key>') && out.includes('<EMAIL>'));
});

test('secrets: known false positives are left alone', async () => {
  const samples = [
    // lockfile hashes
    readFileSync(join(corpusRoot('yargs'), 'package.json'), 'utf8'),
    `"integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR6dnmf0XXMlWijLyA=="`,
    `resolved "https://registry.yarnpkg.com/x/-/x-1.0.0.tgz#5c6e0e28fb2a4cfe9d61a1f1c42dd2b8d64a9f2d"`,
    // base64 test vectors (RFC 4648) and hashes in tests
    `assert.equal(btoa('foobar'), 'Zm9vYmFy'); const v = "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsu";`,
    `const sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';`,
    // UUIDs, also under secret-like names
    `const id = "123e4567-e89b-12d3-a456-426614174000"; const token = "123e4567-e89b-12d3-a456-426614174000";`,
    // labels, placeholders, env lookups, git URLs, retina image names
    `<input type="password" placeholder="Password" /> const label = { password: "Password" };`,
    `const password = process.env.DB_PASSWORD; const apiKey = "\${API_KEY}"; const secret = "your-secret-here";`,
    `git clone git@github.com:owner/repo.git; <img src="logo@2x.png">`,
    // the AWS documentation's example keys
    `AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
  ];
  for (const s of samples) assert.equal(await findSecrets(s, 'x.js'), [], s.slice(0, 60));
  // The embedded corpus's source files hold no secret but the authors' email addresses.
  for (const name of ['yargs-parser', 'diff']) {
    for (const path of listFiles(corpusRoot(name)).filter((p) => /\.(js|ts|json)$/.test(p)).slice(0, 40)) {
      const found = await findSecrets(readFileSync(join(corpusRoot(name), path), 'utf8'), path);
      assert.equal(found.filter((x) => x.kind !== 'email'), [], `${name}/${path}: ${JSON.stringify(found)}`);
    }
  }
});

test('licenses: the embedded corpus from package.json and from its LICENSE text alone agree', () => {
  for (const name of CORPUS) {
    const root = corpusRoot(name);
    const pkg = readFileSync(join(root, 'package.json'), 'utf8');
    const declared = JSON.parse(pkg).license as string;
    assert.is(detectLicense(new Map([['package.json', pkg]])).license, declared, name);
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].find((f) => existsSync(join(root, f)));
    assert.ok(file, `${name} ships no LICENSE file`);
    const fromText = detectLicense(new Map([[file!, readFileSync(join(root, file!), 'utf8')]]));
    assert.is(fromText.license, declared, `${name}: ${fromText.from}`);
  }
});

test('licenses: fixtures with only a LICENSE text (MIT, ISC, Apache-2.0, BSD-3-Clause, GPL-3.0)', () => {
  const full = require('spdx-license-list/spdx-full.json') as Record<string, { licenseText: string }>;
  const filled = (id: string) => full[id]!.licenseText.replaceAll('<year>', '2024').replaceAll('<copyright holders>', 'Planted Authors').replaceAll('<owner>', 'Planted Authors');
  const cases: Array<[string, string, string]> = [
    ['MIT', 'LICENSE', `MIT License\n\nCopyright (c) 2024 Planted Authors\n\n${filled('MIT').split('\n').slice(4).join('\n')}`],
    ['ISC', 'LICENSE.md', filled('ISC')],
    ['Apache-2.0', 'LICENSE.txt', readFileSync(join(corpusRoot('apache-arrow'), 'LICENSE.txt'), 'utf8')],
    ['BSD-3-Clause', 'LICENSE', readFileSync(join(corpusRoot('diff'), 'LICENSE'), 'utf8')],
    ['GPL-3.0-only', 'COPYING', filled('GPL-3.0-only')],
  ];
  for (const [id, file, text] of cases) assert.is(detectLicense(new Map([[file, text]])).license, id, file);
  assert.is(detectLicense(new Map([['LICENSE', 'All rights reserved. Do not copy.']])).license, undefined);
  assert.is(detectLicense(new Map([['package.json', '{"license":"Apache 2"}']])).license, 'Apache-2.0');
  assert.is(detectLicense(new Map([['pyproject.toml', '[project]\nname = "x"\nlicense = { text = "BSD-3-Clause" }\n']])).license, 'BSD-3-Clause');
  assert.is(detectLicense(new Map([['setup.cfg', '[metadata]\nname = x\nlicense = MIT\n']])).license, 'MIT');
  assert.ok(licenseAllowed('GPL-3.0-only', ['GPL-3.0']));
  assert.ok(licenseAllowed('(MIT OR GPL-3.0-only)', ['MIT']));
  assert.not.ok(licenseAllowed('MIT AND GPL-3.0-only', ['MIT']));
});

function scanOf(index: number, name: string, files: Array<{ path: string; text: string }>): SourceScan {
  return {
    index,
    name,
    license: { license: 'MIT' },
    files: files.map((f) => {
      const m = minhash(f.text);
      return { path: f.path, hash: hashText(f.text), size: f.text.length, sig: m.sig, shingles: m.shingles };
    }),
  };
}

function corpusFiles(name: string, prefix = ''): Array<{ path: string; text: string }> {
  const root = corpusRoot(name);
  return listFiles(root)
    .filter((p) => /\.(js|mjs|cjs|ts)$/.test(p) && !p.endsWith('.d.ts'))
    .slice(0, 60)
    .map((p) => ({ path: prefix + p, text: readFileSync(join(root, p), 'utf8') }));
}

test('near-dedup: a fork with a few edited files and a vendored copy are found; unrelated repositories are not', () => {
  const s = resolveHygiene({ dedup: 'near' }, '/');
  const diff = corpusFiles('diff');
  // A fork: the same package with three files edited (a line added, a function renamed).
  const fork = diff.map((f, i) => (i % 7 === 0 && i < 21 ? { ...f, text: `// fork: patched\n${f.text.replaceAll('function ', 'function  ')}\nexport const forked = true;\n` } : f));
  // A vendored copy: uvu's own files plus diff's files under vendor/, each with a banner.
  const vendoring = [...corpusFiles('uvu'), ...diff.map((f) => ({ path: `vendor/diff/${f.path}`, text: `/* vendored from diff */\n${f.text}` }))];
  const d = decide([scanOf(0, 'diff', diff), scanOf(1, 'yargs-parser', corpusFiles('yargs-parser')), scanOf(2, 'diff-fork', fork), scanOf(3, 'uvu', vendoring)], s);
  assert.is(d.get(0)!.skipSource, undefined);
  assert.is(d.get(1)!.skipSource, undefined, 'an unrelated repository was taken for a duplicate');
  assert.is(d.get(1)!.drop.size, 0);
  assert.is(d.get(2)!.skipSource?.code, 'SOURCE_DUPLICATE');
  assert.match(d.get(2)!.skipSource!.reason, 'near-duplicate of sources[0] diff');
  const v = d.get(3)!;
  assert.is(v.skipSource, undefined, 'uvu has files of its own');
  const vendored = [...v.drop.values()].filter((x) => x.path.startsWith('vendor/diff/'));
  const bigEnough = diff.filter((f) => minhash(f.text).shingles >= 20).length;
  assert.ok(vendored.length >= bigEnough * 0.9, `${vendored.length} of ${bigEnough} vendored files found`);
  for (const x of vendored) {
    assert.is(x.code, 'FILE_DUPLICATE');
    assert.match(x.reason, /near-duplicate .* of sources\[0\] diff:/);
  }
  assert.not.ok([...v.drop.keys()].some((k) => !k.startsWith('vendor/')), 'uvu lost a file of its own');
});

test('near-dedup of sources: the earliest kept source at the threshold is named, whichever shares more bands', () => {
  const s = resolveHygiene({ dedup: 'near' }, '/');
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  // A and B agree on 90 of 128 values (Jaccard 0.70: both kept); C takes half of their 38
  // differences from each (0.85 with both). Bands 0-1 (values 0-15) are common to all three.
  const a = Array.from({ length: 128 }, rnd);
  const differ = Array.from({ length: 38 }, (_, k) => 16 + 3 * k);
  const b = a.slice();
  for (const p of differ) b[p] = rnd();
  const c = a.slice();
  differ.forEach((p, k) => k % 2 === 0 && (c[p] = b[p]!));
  const scan = (index: number, name: string, sig: number[]): SourceScan => ({
    index,
    name,
    license: { license: 'MIT', from: 'LICENSE' } as never,
    files: [{ path: `${name}.js`, hash: hashText(name), size: 4096, sig, shingles: 500 }],
  });
  // Unrelated source first, then B before A in one order and A before B in the other: C names the earlier.
  for (const [first, second] of [[['b', b], ['a', a]], [['a', a], ['b', b]]] as const) {
    const d = decide([scan(0, 'other', Array.from({ length: 128 }, rnd)), scan(1, first[0], [...first[1]]), scan(2, second[0], [...second[1]]), scan(3, 'c', c)], s);
    assert.is(d.get(1)!.skipSource, undefined);
    assert.is(d.get(2)!.skipSource, undefined, 'Jaccard 0.70 is under the threshold');
    assert.match(d.get(3)!.skipSource?.reason ?? '', `near-duplicate of sources[1] ${first[0]} (estimated Jaccard 0.85)`);
  }
});

test('exact dedup: within a repository src/ is kept over dist/; a repository of copies is skipped whole', () => {
  const s = resolveHygiene({}, '/');
  const x = `export function x() {\n  return 'a file long enough to be content, not structure';\n}\n`;
  const y = x.replace('x()', 'y()');
  const a = scanOf(0, 'a', [{ path: 'dist/x.js', text: x }, { path: 'src/x.js', text: x }, { path: 'src/y.js', text: y }, { path: 'src/empty.js', text: 'export {};\n' }]);
  const b = scanOf(1, 'b', [{ path: 'x.js', text: x }, { path: 'y.js', text: y }]);
  const c = scanOf(2, 'c', [{ path: 'types.js', text: 'export {};\n' }, { path: 'z.js', text: y + '// z\n' }]);
  const d = decide([a, b, c], s);
  assert.equal([...d.get(0)!.drop.keys()], ['dist/x.js']);
  assert.is(d.get(0)!.aliases.get('dist/x.js'), 'src/x.js');
  assert.is(d.get(1)!.skipSource?.code, 'SOURCE_DUPLICATE');
  assert.is(d.get(2)!.drop.size, 0, 'a tiny file shared by unrelated repositories is structure, not a duplicate');
  // 'off' keeps everything.
  assert.is(decide([a, b], resolveHygiene({ dedup: 'off' }, '/')).get(1)!.skipSource, undefined);
});

test('decisions in order: each as soon as its prefix is scanned, equal to deciding the whole corpus at once', async () => {
  const s = resolveHygiene({}, '/');
  const x = `export function x() {\n  return 'a file long enough to be content, not structure';\n}\n`;
  const scans = [
    scanOf(0, 'a', [{ path: 'src/x.js', text: x }]),
    scanOf(1, 'b', [{ path: 'x.js', text: x }]),
    scanOf(2, 'c', [{ path: 'y.js', text: x.replace('x()', 'y()') }]),
  ];
  // Scans arrive out of order: 2 first, then 0, then 1.
  const gates = scans.map(() => {
    let open!: () => void;
    return { p: new Promise<void>((r) => (open = r)), open: () => open() };
  });
  const decisions = decisionsInOrder(scans.map((sc, i) => gates[i]!.p.then(() => sc)), s);
  const settled: number[] = [];
  decisions.forEach((d, i) => void d.then(() => settled.push(i)));
  const tick = () => new Promise((r) => setImmediate(r));
  gates[2]!.open();
  await tick();
  assert.equal(settled, [], 'source 2 waits for the sources before it');
  gates[0]!.open();
  await tick();
  assert.equal(settled, [0], 'source 0 needs only its own scan');
  gates[1]!.open();
  await tick();
  assert.equal(settled, [0, 1, 2]);
  const all = decide(scans, s);
  const plain = (d: SourceDecision) => JSON.stringify({ ...d, drop: [...d.drop], aliases: [...d.aliases], findings: [...d.findings] });
  for (let i = 0; i < scans.length; i++) assert.is(plain(await decisions[i]!), plain(all.get(i)!));
  assert.is((await decisions[1]!).skipSource?.code, 'SOURCE_DUPLICATE', 'the later copy is the one skipped');
  // A failed scan fails its decision and every later one; earlier ones stand.
  const failing = decisionsInOrder([Promise.resolve(scans[0]!), Promise.reject(new Error('unreadable')), Promise.resolve(scans[2]!)], s);
  assert.is((await failing[0]!).skipSource, undefined);
  for (const d of failing.slice(1)) await d.then(() => assert.unreachable('a decision after a failed scan'), (e: Error) => assert.is(e.message, 'unreadable'));
});

test('import edges to a dropped build copy point at the kept copy', () => {
  const imports = (...specifiers: string[]) => ({ imports: specifiers.map((specifier) => ({ specifier, kind: 'esm' as const })) });
  const g = buildRepoGraph({
    files: [
      { path: 'src/a.js', facts: imports() },
      { path: 'src/main.js', facts: imports('../dist/a.js', './a.js') },
    ],
    aliases: [['dist/a.js', 'src/a.js']],
  });
  assert.equal(g.edges.map((e) => [e.from, e.to, e.specifier]), [['src/main.js', 'src/a.js', '../dist/a.js'], ['src/main.js', 'src/a.js', './a.js']]);
  assert.equal(g.unresolved, []);
  assert.not.ok(g.files.includes('dist/a.js'));
});

test('licenses.allow filters repositories; unknown licenses follow licenses.unknown', () => {
  const scan = (index: number, license: string | undefined): SourceScan => ({ index, name: `r${index}`, license: license ? { license } : {}, files: [{ path: 'a.js', hash: hashText(`file ${index}`), size: 6 }] });
  const scans = [scan(0, 'MIT'), scan(1, 'GPL-3.0-only'), scan(2, undefined), scan(3, '(Apache-2.0 OR GPL-2.0-only)')];
  const d = decide(scans, resolveHygiene({ licenses: { allow: ['MIT', 'Apache-2.0'] } }, '/'));
  assert.equal([0, 1, 2, 3].map((i) => d.get(i)!.skipSource?.code), [undefined, 'LICENSE_NOT_ALLOWED', undefined, undefined]);
  assert.match(d.get(1)!.skipSource!.reason, 'GPL-3.0-only is not in hygiene.licenses.allow');
  const strict = decide(scans, resolveHygiene({ licenses: { allow: ['MIT', 'Apache-2.0'], unknown: 'skip' } }, '/'));
  assert.is(strict.get(2)!.skipSource?.code, 'LICENSE_NOT_ALLOWED');
});

test('decontamination: a shared 13-gram is found whatever the layout; fewer shared tokens are not', () => {
  const item = 'def add(a, b):\n    """Add two numbers."""\n    return a + b if a is not None else b\n';
  const t = codeTokens(item);
  const grams = new Map<number, string>();
  for (let i = 0; i + 13 <= t.length; i++) grams.set(ngramHash(t, i, 13), 'Planted/7');
  const bench = { hash: 'h', ngram: 13, grams, items: 1 };
  assert.is(contaminatedBy('x = 1\ndef   add(a,b):\n  """Add two numbers."""\n  return a+b if a is not None else b', bench), 'Planted/7');
  assert.is(contaminatedBy('def add(a, b):\n    return a + b\n', bench), undefined);
});

test.run();
