/**
 * Trajectory documents within trajectory.maxTokens (issue 12), through the real `retrace` binary:
 * real packages of the embedded corpus with default settings, and a generated repository larger
 * than the budget that holds a file larger than the budget, an import cycle and a dependency
 * read by many files. Checked on every document: exact bytes written once per repository, Read
 * observations that are real slices (whole, line ranges, references), loss mask exactly on
 * them, imports before importers, parts within the budget; per repository: trajectory <= 3x raw
 * tokens, at most half masked. Raising maxTokens sends no LLM request again (loopback server).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLlmServer } from './helpers/llm-server.ts';
import { finished, FIXTURES, jsonAnswer, ok, ROOT, spawnRetrace, successes } from './fixtures/trajectory/harness.ts';
import { checkParts, graphOf } from './fixtures/trajectory/parts-check.ts';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'retrace-parts-'));
  made.push(d);
  return d;
};

function project(dir: string, sources: string[], extra: Record<string, unknown> = {}) {
  const write = (format: string, more: Record<string, unknown> = {}): string => {
    const config = join(dir, `${format}.config.ts`);
    // Secrets stay unredacted: the checks compare every Read and Write with the bytes on disk.
    writeFileSync(config, `export default ${JSON.stringify({ name: format, format, sources: sources.map((d) => ({ dir: d })), workers: 2, hygiene: { secrets: 'off' }, ...extra, ...more }, null, 2)};\n`);
    return config;
  };
  const build = async (format: string, more: Record<string, unknown> = {}) => {
    const config = write(format, more);
    const s = ok(await finished(spawnRetrace(['build', '--json', '--config', config, '--cache-dir', join(dir, 'cache'), '--out', join(dir, 'out')])));
    return { s, config, manifest: JSON.parse(readFileSync(join(s.path, 'manifest.json'), 'utf8')) };
  };
  return { build, cache: join(dir, 'cache') };
}

/** Per repository: trajectory <= 3x raw tokens, at most half of all tokens masked. */
function ratios(raw: any, traj: any): void {
  const sum = (m: any, repo: string, f: (d: any) => number) => m.documents.filter((d: any) => d.repo === repo).reduce((n: number, d: any) => n + f(d), 0);
  let all = 0;
  let masked = 0;
  for (const repo of new Set<string>(traj.documents.map((d: any) => d.repo))) {
    const t = sum(traj, repo, (d) => d.tokens);
    const r = sum(raw, repo, (d) => d.tokens);
    assert.ok(t <= 3 * r, `${repo}: trajectory ${t} > 3 x raw ${r}`);
    all += t;
    masked += sum(traj, repo, (d) => d.tokens - d.trained);
  }
  assert.ok(masked <= all / 2, `masked ${masked} of ${all}`);
}

test('real packages, default settings: documents within 65,536 tokens (unless one file alone is over), exact bytes once, real slices', async () => {
  const names = ['yargs', 'uvu', 'diff', 'msgpackr'];
  const roots = Object.fromEntries(names.map((n) => [n, join(ROOT, 'node_modules', n)]));
  const p = project(tmp(), Object.values(roots));
  const raw = await p.build('raw');
  const traj = await p.build('trajectory');
  const m = traj.manifest;
  const graphs = Object.fromEntries(names.map((n) => [n, graphOf(traj.config, p.cache, n)]));
  const figs = await checkParts(traj.s.path, roots, { maxTokens: 65_536, graphs });
  for (const n of names) {
    const src = m.sources.find((s: any) => s.name === n);
    assert.is(figs[n]!.writes.length, src.files, `${n}: every file written once`);
    assert.is(figs[n]!.documents, src.shape.parts);
  }
  ratios(raw.manifest, m);
  // msgpackr (and yargs) are over the budget: cut into parts; the shape section counts them and the Reads.
  assert.ok(figs.msgpackr!.documents > 1);
  assert.ok(m.documents.some((d: any) => d.id === 'msgpackr#2'));
  assert.ok(m.shape.splitRepositories >= 1 && m.shape.documents === m.documents.length);
  const reads = Object.values(figs).reduce((n, f) => ({ whole: n.whole + f.reads.whole, excerpts: n.excerpts + f.reads.excerpts, references: n.references + f.reads.references }), { whole: 0, excerpts: 0, references: 0 });
  assert.equal(m.shape.reads, reads);
  // A whole Read is a dependency written in an earlier part: whether one occurs here depends on
  // where the cut falls (the thoughts' lengths move it; issue 14's loop reads at most
  // llm.maxTurns - 1 dependencies). Whole reads: trajectory-cut.test.ts ('observe').
  assert.ok(reads.excerpts > 0);
  assert.is(m.shape.tokensPerDocument.max, Math.max(...m.documents.map((d: any) => d.tokens)));
  assert.is(m.trajectory.documents.maxTokens, 65_536);
  const shown = execFileSync(process.execPath, [join(ROOT, 'bin/retrace.js'), 'dataset', 'show', traj.s.version, '--config', traj.config, '--out', join(traj.s.path, '../..')], { encoding: 'utf8' });
  assert.match(shown, /tokens per document: median \d+, p90 \d+, max \d+/);
  assert.match(shown, /Read observations: \d+ whole files, \d+ excerpts, \d+ references/);
  assert.match(shown, /loss-masked share \d+\.\d%/);
});

/** A repository larger than the budget: a big core read by many files, a file over the budget, a cycle. */
function bigRepo(dir: string): string {
  const root = join(dir, 'big');
  mkdirSync(join(root, 'lib'), { recursive: true });
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'big', version: '1.0.0', type: 'module' }, null, 2) + '\n');
  const fns = Array.from({ length: 24 }, (_, k) =>
    `/** Step ${k} of the core. */\nexport function core${k}(input, options = {}) {\n${Array.from({ length: 8 }, (_, j) => `  const v${j} = (input ?? ${j}) * ${k + j} + (options.bias${j} ?? ${j});\n`).join('')}  return v0 + v7;\n}\n`,
  );
  writeFileSync(join(root, 'lib/core.js'), fns.join('\n'));
  for (let k = 0; k < 20; k++) {
    writeFileSync(
      join(root, `lib/use${String(k).padStart(2, '0')}.js`),
      `import { core${k}, core${(k + 5) % 24} } from './core.js';\n${k > 0 ? `import { use${String(k - 1).padStart(2, '0')} } from './use${String(k - 1).padStart(2, '0')}.js';\n` : ''}\n/** Uses core step ${k}. */\nexport function use${String(k).padStart(2, '0')}(x) {\n  return core${k}(x) + core${(k + 5) % 24}(x, { bias1: ${k} })${k > 0 ? ` + use${String(k - 1).padStart(2, '0')}(x - 1)` : ''};\n}\n`,
    );
  }
  writeFileSync(join(root, 'lib/ping.js'), `import { pong } from './pong.js';\nexport function ping(n) {\n  return n <= 0 ? 0 : pong(n - 1) + 1;\n}\n`);
  writeFileSync(join(root, 'lib/pong.js'), `import { ping } from './ping.js';\nexport function pong(n) {\n  return n <= 0 ? 0 : ping(n - 1) + 2;\n}\n`);
  // One file alone over the budget.
  writeFileSync(join(root, 'lib/table.js'), `import { core1 } from './core.js';\nexport const TABLE = [\n${Array.from({ length: 900 }, (_, k) => `  { id: ${k}, name: 'entry_${k.toString(36)}', weight: core1(${k}) },\n`).join('')}];\n`);
  writeFileSync(join(root, 'index.js'), `import { use19 } from './lib/use19.js';\nimport { ping } from './lib/ping.js';\nimport { TABLE } from './lib/table.js';\nexport default function main() {\n  return use19(3) + ping(4) + TABLE.length;\n}\n`);
  writeFileSync(join(root, 'README.md'), '# big\n\nA generated repository larger than the document budget.\n');
  return root;
}

test('a repository larger than the budget: parts, the big file alone, the cycle together, the shared core read as excerpts', async () => {
  const dir = tmp();
  const root = bigRepo(dir);
  const p = project(dir, [root], { trajectory: { maxTokens: 4096 } });
  const raw = await p.build('raw');
  const traj = await p.build('trajectory');
  const m = traj.manifest;
  const graph = graphOf(traj.config, p.cache, 'big');
  assert.equal(graph.cycles, [['lib/ping.js', 'lib/pong.js']]);
  const figs = await checkParts(traj.s.path, { big: root }, { maxTokens: 4096, graphs: { big: graph } });
  const big = figs.big!;
  assert.is(big.writes.length, 27);
  assert.ok(big.documents >= 4, `${big.documents} documents`);
  // lib/core.js and lib/table.js are each over the budget alone: a part of their own each
  // (checkParts checks that every document over the budget writes a single file).
  assert.is(m.sources[0].shape.oversizeParts, 2);
  assert.is(m.documents.filter((d: any) => d.tokens > 4096).length, 2);
  ratios(raw.manifest, m);
  // Read by 21 files: whole once at most per document, then exact line ranges of what each uses.
  const texts = await Promise.all(m.documents.map(async (d: any) => d.id));
  assert.ok(texts.length === big.documents);
  assert.ok(big.reads.excerpts >= 10, JSON.stringify(big.reads));
  // Later parts say what earlier parts built, without bodies.
  const { readShard } = await import('./helpers/duckdb.ts');
  const rows = await readShard(join(traj.s.path, m.shards[0].file));
  const second = rows.find((r: any) => r.id === 'big#2')!;
  assert.match(String(second.text), /^Repository: big \(part 2 of \d+\)\n/);
  assert.match(String(second.text), /## Built in earlier parts\n- /);
  assert.match(String(rows.find((r: any) => /Action: Read lib\/core\.js:\d+-\d+\n/.test(String(r.text)))?.text ?? ''), /Action: Read lib\/core\.js:\d+-\d+\n/);

  // trajectory.oversize 'skip': reported, not written.
  const skipped = await p.build('trajectory', { sources: [{ dir: root }, { dir: join(FIXTURES, 'calc') }], trajectory: { maxTokens: 4096, oversize: 'skip' } });
  assert.equal(skipped.manifest.documents.map((d: any) => d.id), ['calc']);
  assert.is(skipped.manifest.sources[0].excluded.code, 'TRAJECTORY_OVERSIZE');
  assert.is(skipped.manifest.sources[1].excluded, undefined);
  assert.is(skipped.s.oversize[0].code, 'TRAJECTORY_OVERSIZE');
});

test('raising trajectory.maxTokens re-sends no LLM call (none of their rendered requests changed)', async () => {
  const server = await startLlmServer({ answer: jsonAnswer });
  try {
    const dir = tmp();
    const root = bigRepo(dir);
    const llm = { provider: 'openai', endpoint: { baseURL: server.url, model: 'test-model', timeoutMs: 2000, maxRetries: 4, maxConcurrency: 4 } };
    const p = project(dir, [root], { llm });
    const first = await p.build('trajectory', { trajectory: { maxTokens: 4096 } });
    const sent = successes(server.log);
    const plans = sent.filter((b) => b.includes('file-level implementation plan')).length;
    assert.is(plans, 2, 'the plan in two parts (25 code files; 22 per plan call with the default llm.contextTokens)');
    assert.is(first.s.stages.implement.computed, 25, 'one loop per code file');
    assert.is(sent.length, first.s.llm.requests);
    const from = server.log.length;
    const raised = await p.build('trajectory', { trajectory: { maxTokens: 32_768 } });
    assert.is(successes(server.log.slice(from)).length, 0);
    assert.is(raised.s.llm.requests, 0);
    assert.ok(raised.manifest.documents.length < first.manifest.documents.length, `${first.manifest.documents.length} -> ${raised.manifest.documents.length}`);
    await checkParts(raised.s.path, { big: root }, { maxTokens: 32_768, graphs: { big: graphOf(raised.config, p.cache, 'big') } });
  } finally {
    await server.close();
  }
});

test('config: trajectory settings are checked, naming the path', async () => {
  const dir = tmp();
  const p = project(dir, [join(ROOT, 'node_modules/uvu')]);
  const config = join(dir, 'bad.config.ts');
  writeFileSync(config, `export default ${JSON.stringify({ name: 'bad', format: 'trajectory', sources: [{ dir: join(ROOT, 'node_modules/uvu') }], trajectory: { maxTokens: 10, oversize: 'drop' } })};\n`);
  const r = await finished(spawnRetrace(['build', '--json', '--config', config, '--cache-dir', p.cache, '--out', join(dir, 'out')]));
  assert.is.not(r.code, 0);
  assert.match(r.stderr + JSON.stringify(r.summary ?? {}), /config\.trajectory\.maxTokens/);
});

test.after(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
test.run();
