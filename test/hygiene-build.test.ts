/**
 * Data hygiene through the real binary (issue 15): a planted repository with secrets, a copy of
 * another source's file, a build copy (dist/ of src/), a file solving a planted benchmark item and
 * known false positives; decisions in the manifest; no secret in any shard (read back with DuckDB);
 * the same version from 3 partitions + merge; changing only hygiene.secrets recomputes only the
 * files it affects.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, computed } from './helpers/project.ts';
import { readShard } from './helpers/duckdb.ts';

const p = new Project('retrace-hygiene-');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const SECRETS = {
  awsId: 'AKIAZ7VQ3NRT5KXW2LMB',
  awsSecret: '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',
  github: 'ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy',
  email: 'jane.roe@acme-widgets.io',
  keyLine: privateKey.split('\n')[3]!,
};
const LOCK_INTEGRITY = 'sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR6dnmf0XXMlWijLyA==';
const UUID = '123e4567-e89b-12d3-a456-426614174000';
const B64_VECTOR = 'TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsu';
const SOLUTION = `function separateParenGroups(parenString) {
  const result = [];
  let current = '';
  let depth = 0;
  for (const c of parenString) {
    if (c === '(') { depth += 1; current += c; }
    else if (c === ')') { depth -= 1; current += c; if (depth === 0) { result.push(current); current = ''; } }
  }
  return result;
}`;
const SHARED_HELPER = `/** Clamp a number into [lo, hi]. */\nexport function clamp(x, lo, hi) {\n  return Math.min(hi, Math.max(lo, x));\n}\n`;

p.repo('lib', {
  'package.json': JSON.stringify({ name: 'lib', license: 'ISC' }),
  'clamp.js': SHARED_HELPER,
  'index.js': `import { clamp } from './clamp.js';\nexport const unit = (x) => clamp(x, 0, 1);\n`,
});
p.repo('app', {
  'package.json': JSON.stringify({ name: 'app', version: '1.0.0', license: 'MIT', author: `Jane Roe <${SECRETS.email}>` }),
  'package-lock.json': JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { 'node_modules/x': { version: '1.0.0', integrity: LOCK_INTEGRITY } } }, null, 2),
  'src/config.js': `export const aws = {\n  AWS_ACCESS_KEY_ID: "${SECRETS.awsId}",\n  AWS_SECRET_ACCESS_KEY: "${SECRETS.awsSecret}",\n};\nexport const github = "${SECRETS.github}";\nexport const requestId = "${UUID}";\n`,
  'src/key.js': `export const deployKey = \`${privateKey}\`;\n`,
  'src/vectors.test.js': `// RFC 4648 test vector\nexport const encoded = "${B64_VECTOR}";\nexport const token = "${UUID}";\n`,
  'src/clamp.js': SHARED_HELPER,
  'src/index.js': `import { aws } from './config.js';\nimport { clamp } from './clamp.js';\nexport function main() {\n  return clamp(aws.AWS_ACCESS_KEY_ID.length, 0, 10);\n}\n`,
  'dist/index.js': `import { aws } from './config.js';\nimport { clamp } from './clamp.js';\nexport function main() {\n  return clamp(aws.AWS_ACCESS_KEY_ID.length, 0, 10);\n}\n`,
  'src/parens.js': `${SOLUTION}\nexport { separateParenGroups };\n`,
  'src/cli.js': `import { main } from '../dist/index.js';\nconsole.log(main());\n`,
});
p.write('bench/planted.jsonl', JSON.stringify({ task_id: 'Planted/1', prompt: 'Split a string of balanced parentheses into groups.', canonical_solution: SOLUTION }) + '\n');

const sources = [{ dir: 'repos/lib' }, { dir: 'repos/app' }];
const hygiene = (extra: Record<string, unknown> = {}) => ({ decontaminate: { files: ['bench/planted.jsonl'] }, ...extra });
const config = (extra: Record<string, unknown> = {}, file = 'pipeline.config.ts') =>
  p.config({ name: 'clean', format: 'raw', sources, workers: 1, hygiene: hygiene(extra) }, file);

async function shardTexts(path: string): Promise<Array<{ repo: string; license: string; text: string }>> {
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8'));
  const rows = [];
  for (const s of manifest.shards as Array<{ file: string }>) rows.push(...(await readShard(join(path, s.file))));
  return rows.map((r) => ({ repo: r.repo as string, license: r.license as string, text: r.text as string }));
}


test('planted repository: secrets redacted, copies written once, contaminated file left out, each decision in the manifest', async () => {
  const r = p.run(['build', '--json', '--config', config()], { cacheDir: p.path('cache') });
  assert.is(r.code, 0, r.stderr);
  const rows = await shardTexts(r.json.path);
  assert.is(rows.length, 2);
  const all = rows.map((x) => x.text).join('\n');
  for (const [name, s] of Object.entries(SECRETS)) assert.not.ok(all.includes(s), `${name} reached a shard`);
  assert.ok(all.includes('<SECRET:aws-access-key>') && all.includes('<SECRET:aws-secret-key>') && all.includes('<SECRET:github-token>'));
  assert.ok(all.includes('<SECRET:private-key>') && all.includes('<EMAIL>'));
  // Known false positives stay untouched.
  for (const fp of [LOCK_INTEGRITY, UUID, B64_VECTOR]) assert.ok(all.includes(fp), `${fp} was redacted`);
  // The shared helper appears once (in lib, the earlier source); dist/index.js is not written.
  assert.is(all.split('Clamp a number into').length - 1, 1);
  assert.is(all.split('export function main()').length - 1, 1);
  assert.not.ok(all.includes('separateParenGroups'), 'the contaminated file reached a shard');
  assert.equal(Object.fromEntries(rows.map((x) => [x.repo, x.license])), { lib: 'ISC', app: 'MIT' });

  const manifest = JSON.parse(readFileSync(join(r.json.path, 'manifest.json'), 'utf8'));
  const app = manifest.pins?.sources?.[1] ?? manifest.sources[1];
  assert.is(app.license, 'MIT');
  const skipped = Object.fromEntries(app.skipped.map((s: any) => [s.path, s]));
  assert.is(skipped['src/clamp.js'].code, 'FILE_DUPLICATE');
  assert.match(skipped['src/clamp.js'].reason, 'sources[0] lib:clamp.js');
  assert.is(skipped['dist/index.js'].code, 'FILE_DUPLICATE');
  assert.match(skipped['dist/index.js'].reason, 'same bytes as src/index.js');
  assert.is(skipped['src/parens.js'].code, 'FILE_CONTAMINATED');
  assert.match(skipped['src/parens.js'].reason, 'Planted/1');
  // The import of the dropped build copy points at the kept one.
  const graph = p.run(['show', 'graph', 'app', '--json'], { cacheDir: p.path('cache') }).json;
  assert.equal(graph.edges.filter((e: any) => e.from === 'src/cli.js').map((e: any) => [e.to, e.specifier]), [['src/index.js', '../dist/index.js']]);
  assert.not.ok(graph.files.includes('dist/index.js'));
  const show = p.run(['dataset', 'show', 'latest'], {});
  assert.is(show.code, 0, show.stderr);
  assert.match(show.stdout, 'files dropped: 2 duplicate, 0 near-duplicate, 1 contaminated');
  assert.match(show.stdout, 'aws-access-key 1');
  assert.match(show.stdout, 'app: license MIT (package.json)');
  assert.equal(app.hygiene.secrets, { 'aws-access-key': 1, 'aws-secret-key': 1, 'github-token': 1, 'private-key': 1, email: 1 });
  assert.is(app.hygiene.duplicates, 2);
  assert.is(app.hygiene.contaminated, 1);
});

test('near-dedup: 3 partitions + merge give the same version id as one machine; a fork is left out whole', async () => {
  // A fork of lib that only adds a README: every file is an exact copy but the README, and the
  // repository as a whole is a near-duplicate of lib.
  p.repo('lib-fork', { 'package.json': JSON.stringify({ name: 'lib', license: 'ISC' }), 'clamp.js': SHARED_HELPER, 'index.js': `import { clamp } from './clamp.js';\nexport const unit = (x) => clamp(x, 0, 1);\n`, 'README.md': '# lib fork\n\nA fork.\n' });
  const forkSources = [...sources, { dir: 'repos/lib-fork' }];
  const cfgFile = p.config({ name: 'clean', format: 'raw', sources: forkSources, workers: 1, hygiene: hygiene({ dedup: 'near' }), cache: { remote: { url: `file://${p.path('shared')}`, mode: 'read-write' } } }, 'scaled.config.ts');
  const runs = await Promise.all([0, 1, 2].map((i) => p.spawn(['build', '--json', '--shard', `${i}/3`, '--config', cfgFile, '--cache-dir', p.path(`m${i}`), '--out', p.path('out3')]).done));
  for (const r of runs) assert.is(r.code, 0, r.stderr);
  const m = p.run(['merge', '--shards', '3', '--json', '--config', cfgFile, '--cache-dir', p.path('merge'), '--out', p.path('out3')]);
  assert.is(m.code, 0, m.stderr);
  const one = p.run(['build', '--json', '--config', cfgFile, '--cache-dir', p.path('one'), '--out', p.path('out1')]);
  assert.is(one.code, 0, one.stderr);
  assert.is(m.json.version, one.json.version);
  const manifest = JSON.parse(readFileSync(join(m.json.path, 'manifest.json'), 'utf8'));
  assert.is(manifest.sources[2].hygiene.skipped.code, 'SOURCE_DUPLICATE');
  assert.match(manifest.sources[2].hygiene.skipped.reason, 'near-duplicate of sources[0] lib');
  assert.is(manifest.sources[2].document, undefined);
  assert.is(manifest.hygiene.near.permutations, 128);
  assert.is(m.json.documents, 2);
});

test('changing only hygiene.secrets recomputes only the files it affects', () => {
  const r = p.run(['build', '--json', '--config', config({ secrets: 'skip-file' })], { cacheDir: p.path('cache') });
  assert.is(r.code, 0, r.stderr);
  const c = computed(r.json);
  // No hygiene item is recomputed: the mode is in no key.
  for (const s of ['hygiene-secrets', 'hygiene-decontaminate', 'hygiene-license', 'ingest', 'parse']) assert.is(c[s] ?? 0, 0, `${s} recomputed`);
  // lib has no secret: its document is reused; app's changes (its secret files are now left out).
  assert.is(c.render, 1);
  assert.is(c.tokenize, 1);
  const off = p.run(['build', '--json', '--config', config({ secrets: 'off' })], { cacheDir: p.path('cache') });
  assert.is(off.code, 0, off.stderr);
  const o = computed(off.json);
  // The three files with secrets (package.json, src/config.js, src/key.js) are ingested as they are.
  assert.is(o.ingest, 3);
  assert.is(o['hygiene-secrets'] ?? 0, 0);
  const manifest = JSON.parse(readFileSync(join(r.json.path, 'manifest.json'), 'utf8'));
  const app = manifest.pins?.sources?.[1] ?? manifest.sources[1];
  const codes = app.skipped.filter((s: any) => s.code === 'FILE_SECRET').map((s: any) => s.path).sort();
  assert.equal(codes, ['package.json', 'src/config.js', 'src/key.js']);
});

test('status counts what hygiene would leave out, without building', () => {
  const r = p.run(['status', '--json', '--config', config({ secrets: 'redact', dedup: 'exact' }, 'status.config.ts')], { cacheDir: p.path('status-cache') });
  assert.ok(r.json, r.stderr);
  assert.is(r.json.estimates.hygieneDuplicateFiles, 2);
  assert.is(r.json.estimates.hygieneContaminatedFiles, 1);
  assert.is(r.json.estimates.hygieneSecretsRedacted, 5);
});

test.after(() => p.cleanup());
test.run();
