/**
 * Issue 16: what a build with failures publishes. A partial version is marked in its manifest and
 * by `dataset list`, and leaves `latest` alone unless --latest-partial; --strict writes nothing.
 * Each failure is printed once. `cache gc` keeps the latest complete version (unless told not
 * to) and --dry-run removes nothing. `retrace --version`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Project, ROOT } from './helpers/project.ts';

const p = new Project('retrace-partial-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i}; // ${tag} ${i}`).join('\n') + '\n';
p.repo('good', { 'a.js': lines(40, 'a') });
p.repo('other', { 'b.js': lines(20, 'b') });
const good = p.config({ name: 'ds', format: 'raw', sources: [{ dir: 'repos/good' }, { dir: 'repos/other' }], workers: 1 });
const versions = () => readdirSync(p.path('datasets/ds')).filter((v) => v !== 'latest' && !v.startsWith('.')).sort();
let complete: any;

test('a complete build moves latest; its manifest carries no partial mark', () => {
  const r = p.run(['build', '--json', '--config', good]);
  assert.is(r.code, 0, r.stderr);
  complete = r.json;
  assert.is(r.json.partial, false);
  assert.is(r.json.latest, true);
  assert.is(readlinkSync(p.path('datasets/ds/latest')), r.json.version);
  assert.not.ok('partial' in JSON.parse(readFileSync(join(r.json.path, 'manifest.json'), 'utf8')));
});

test('--strict with a failed source: exit 1, BUILD_INCOMPLETE, no version written, latest unchanged', () => {
  p.config({ name: 'ds', format: 'raw', sources: [{ dir: 'repos/good' }, { dir: 'repos/other' }, { dir: 'repos/missing' }], workers: 1 });
  const before = versions();
  const r = p.run(['build', '--strict']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /error BUILD_INCOMPLETE .*1 item\(s\) failed; no version was written \(--strict\).*first failure: ingest sources\[2\] repos\/missing: SOURCE_NOT_FOUND/);
  assert.equal(versions(), before);
  assert.is(readlinkSync(p.path('datasets/ds/latest')), complete.version);
});

test('without --strict: a partial version (exit 3), marked in the manifest and by dataset list; latest stays', () => {
  const r = p.run(['build']);
  assert.is(r.code, 3, r.stderr);
  // Each failure printed once: in the summary on stdout, not also as it happened on stderr.
  assert.is(r.stdout.match(/SOURCE_NOT_FOUND/g)?.length, 1, r.stdout);
  assert.not.match(r.stderr, /SOURCE_NOT_FOUND/);
  assert.match(r.stdout, /built ds version \w+ \(PARTIAL: 1 item\(s\) failed; `latest` not moved, see --latest-partial\)/);
  const partial = versions().find((v) => v !== complete.version)!;
  const m = JSON.parse(readFileSync(p.path('datasets/ds', partial, 'manifest.json'), 'utf8'));
  assert.equal(m.partial, { failures: 1, items: ['ingest sources[2] repos/missing: SOURCE_NOT_FOUND'] });
  assert.is(readlinkSync(p.path('datasets/ds/latest')), complete.version);
  const list = p.run(['dataset', 'list', '--json']);
  assert.equal(list.json.map((v: any) => [v.version, v.partial, v.latest]).sort(), [[complete.version, false, true], [partial, true, false]].sort());
  assert.match(p.run(['dataset', 'list']).stdout, new RegExp(`ds/${partial} PARTIAL \\(1 failed\\)`));
  assert.match(readFileSync(p.path('datasets/ds', partial, 'README.md'), 'utf8'), /\*\*partial\*\*: 1 item\(s\) failed/);
  // Asked for: latest moves to the partial version.
  const moved = p.run(['build', '--latest-partial', '--json']);
  assert.is(moved.code, 3);
  assert.is(moved.json.latest, true);
  assert.is(readlinkSync(p.path('datasets/ds/latest')), partial);
  // Back to the complete version for the gc tests.
  p.config({ name: 'ds', format: 'raw', sources: [{ dir: 'repos/good' }, { dir: 'repos/other' }], workers: 1 });
  assert.is(p.run(['build']).code, 0);
  assert.is(readlinkSync(p.path('datasets/ds/latest')), complete.version);
});

test('cache gc --dry-run removes nothing; gc keeps the latest complete version; --no-keep-latest does not', () => {
  const stats = () => p.run(['cache', 'stats', '--json']).json;
  const before = stats();
  const dry = p.run(['cache', 'gc', '--max-size', '1B', '--no-keep-latest', '--dry-run', '--json']);
  assert.is(dry.code, 0, dry.stderr);
  assert.is(dry.json.dryRun, true);
  assert.ok(dry.json.actionsRemoved > 0 && dry.json.bytesFreed > 0, JSON.stringify(dry.json));
  assert.equal(stats(), before, 'nothing removed');
  assert.match(p.run(['cache', 'gc', '--max-size', '1B', '--dry-run']).stdout, /gc --dry-run: would remove \d+ result\(s\).*nothing was removed/);

  const kept = p.run(['cache', 'gc', '--max-size', '1B', '--json']);
  assert.is(kept.code, 0, kept.stderr);
  assert.equal(kept.json.latest, [`ds/${complete.version}`]);
  assert.ok(kept.json.actionsRemoved > 0, 'the partial version was evicted');
  const rebuilt = p.run(['build', '--json', '--recheck']);
  assert.is(rebuilt.json.version, complete.version);
  for (const [stage, s] of Object.entries(rebuilt.json.stages as Record<string, { items: number; computed: number }>)) assert.is(s.computed, 0, `${stage}: the latest version's closure survived gc`);

  const all = p.run(['cache', 'gc', '--max-size', '1B', '--no-keep-latest', '--json']);
  assert.equal(all.json.latest, []);
  assert.ok(all.json.actionsRemoved > 0);
});

test('--version prints the package version', () => {
  const r = p.run(['--version']);
  assert.is(r.code, 0);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.is(r.stdout.trim(), `retrace ${pkg.version} (node ${process.version})`);
  assert.ok(existsSync(p.path('datasets/ds/latest')));
});

test.after(() => p.cleanup());
test.run();
