/**
 * Workers that start in milliseconds, and a CLI that starts fast (issue 17):
 * - pools start only when a stage has work: a build answered from the cache starts no thread;
 * - under the bundle, workers refuse TypeScript (no tsx) and error codes still cross the boundary;
 * - the Llama-3 vocabulary's binary form equals tokenizer.json's, is keyed by its content and a
 *   damaged file is rebuilt;
 * - the compiled config is cached by the content of its files (no esbuild on an unchanged config);
 * - a plain `retrace build` is read without yargs, exactly as yargs would read it;
 * - `npx retrace` runs node_modules/.bin/retrace directly: package.json declares no bin (npx would
 *   install the project into its cache before each run) and the install links it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runBuild, watchBuilds, type BuildSummary } from '../src/build/index.ts';
import { loadConfig, ENGINE_ONLY, type EngineConfig } from '../src/config.ts';
import { registerCodes, RetraceError } from '../src/errors.ts';
import type { Pipeline, PipelineRun } from '../src/pipeline.ts';
import { PiscinaPool, workerThreadsStarted, type TaskPool } from '../src/pool.ts';
import { NullReporter } from '../src/reporter.ts';
import { defineStage } from '../src/stage.ts';
import { hashBytes, initHash } from '../src/hash.ts';
import { decodeVocab, encodeVocab, loadLlama3Vocab, pairTableOf, parseTokenizerJson, TOKENIZER_JSON, vocabBinaryPath } from '../stages/tokenize/vocab.ts';
import { plainBuild } from '../cli/plain-build.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-worker-start-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// A task module in plain JS (what the bundle's workers import) that counts lines or fails with a code.
const TASK = join(tmp, 'count-task.mjs');
writeFileSync(
  TASK,
  `export default function count({ text }) {
  if (text.includes('FAIL')) throw Object.assign(new Error('a planted failure'), { code: 'WS_PLANTED', item: 'planted.txt', hint: 'remove FAIL' });
  return text.split('\\n').length;
}\n`,
);
const TASK_URL = pathToFileURL(TASK).href;

declare module '../src/errors.ts' {
  interface ErrorCodes {
    WS_PLANTED: true;
  }
}
const CODES = registerCodes('worker-start test', { WS_PLANTED: { kind: 'error', meaning: 'a failure planted by the worker-start test' } });

interface CountConfig extends EngineConfig {
  dir: string;
}

const countStage = defineStage<{ path: string; text: string }, number>({
  name: 'count',
  version: '1',
  deps: [],
  description: 'count the lines of one file in a worker',
  item: (i) => i.path,
  key: (i) => ({ inputs: { text: i.text }, settings: {} }),
  run: (i, ctx) => ctx.pool.run<number>(TASK_URL, { text: i.text }, { item: i.path }),
});

function files(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.txt')).sort();
}

const countPipeline: Pipeline<CountConfig> = {
  name: 'worker-count',
  stages: [countStage],
  config: { keys: ({ str }) => ({ dir: str }), required: ['dir'] },
  errors: CODES,
  codeDirs: [],
  // Stat stamp of the inputs: lets the engine's up-to-date fast path answer a no-op build.
  inputStamp(run: PipelineRun<CountConfig>) {
    const dir = join(run.loaded.dir, run.loaded.config.dir);
    return files(dir).map((n) => `${n}:${statSync(join(dir, n)).mtimeMs}:${statSync(join(dir, n)).size}`).join('\n');
  },
  watchPaths: (loaded) => [join(loaded.dir, loaded.config.dir)],
  async run(run: PipelineRun<CountConfig>) {
    const dir = join(run.loaded.dir, run.loaded.config.dir);
    let lines = 0;
    let n = 0;
    for (const name of files(dir)) {
      const r = await run.exec.run(countStage, { path: name, text: readFileSync(join(dir, name), 'utf8') });
      lines += r.value;
      n++;
    }
    const bytes = new TextEncoder().encode(JSON.stringify({ lines }));
    const blob = await run.blobs.put(bytes);
    return { documents: n, tokens: lines, shards: [{ file: 'lines.json', blob, sha256: 'x'.repeat(64), bytes: bytes.length, rows: n, tokens: lines }], pins: {}, summary: {} };
  },
};

test('pools start only when a stage has work: a cached or up-to-date build starts no worker thread', async () => {
  const dir = join(tmp, 'count');
  mkdirSync(join(dir, 'txt'), { recursive: true });
  writeFileSync(join(dir, 'txt', 'a.txt'), 'one\ntwo\nthree');
  writeFileSync(join(dir, 'txt', 'b.txt'), 'x');
  writeFileSync(join(dir, 'count.config.mjs'), "export default { name: 'counts', dir: 'txt', workers: 2 };");
  const opts = { config: join(dir, 'count.config.mjs'), reporter: new NullReporter() };

  let before = workerThreadsStarted();
  const cold = await runBuild(countPipeline, opts);
  assert.is(cold.tokens, 4);
  assert.is(cold.stages.count.computed, 2);
  assert.ok(workerThreadsStarted() > before, 'the cold build ran its tasks in worker threads');

  before = workerThreadsStarted();
  const cached = await runBuild(countPipeline, { ...opts, recheck: true });
  assert.is(cached.stages.count.cached, 2);
  assert.is(cached.version, cold.version);
  assert.is(workerThreadsStarted(), before, 'a fully cached build (content-addressed path) started a worker');

  const noop = await runBuild(countPipeline, opts);
  assert.is(noop.upToDate, true);
  assert.is(workerThreadsStarted(), before, 'an up-to-date build started a worker');

  writeFileSync(join(dir, 'txt', 'b.txt'), 'x\ny');
  const edited = await runBuild(countPipeline, opts);
  assert.is(edited.stages.count.computed, 1);
  assert.ok(workerThreadsStarted() > before, 'an edit computes in a worker again');
});

test('error codes cross the thread boundary; under the bundle a worker refuses TypeScript modules', async () => {
  const pool = new PiscinaPool(1);
  try {
    const err = await pool.run(TASK_URL, { text: 'FAIL' }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, RetraceError);
    assert.is((err as RetraceError).code, 'WS_PLANTED');
    assert.is((err as RetraceError).item, 'planted.txt');
    assert.is((err as RetraceError).hint, 'remove FAIL');
    assert.is(await pool.run<number>(TASK_URL, { text: 'a\nb' }), 2);
  } finally {
    await pool.close();
  }
  // What the pool sets under bin/retrace.js's bundle: workers import pre-built JS only.
  const worker = fileURLToPath(new URL('../src/worker.mjs', import.meta.url));
  const ts = join(tmp, 'task.ts');
  writeFileSync(ts, 'export default (x: number): number => x + 1;\n');
  const strict = new Piscina({ filename: worker, maxThreads: 1, workerData: { prebuilt: true } });
  try {
    const refused = await strict.run({ moduleUrl: pathToFileURL(ts).href, payload: 1 }).then(() => undefined, (e: Error & { code?: string }) => e);
    assert.ok(refused, 'a TypeScript task module ran in a pre-built-only worker');
    assert.is(refused!.code, 'WORKER_FAILED');
    assert.match(refused!.message, /pre-built JavaScript only/);
    assert.is(await strict.run({ moduleUrl: TASK_URL, payload: { text: '1\n2\n3' } }), 3, 'plain JS still runs');
  } finally {
    await strict.close();
  }
  // From the sources (tests), the same module loads through tsx.
  const dev = new Piscina({ filename: worker, maxThreads: 1, workerData: { prebuilt: false } });
  try {
    assert.is(await dev.run({ moduleUrl: pathToFileURL(ts).href, payload: 1 }), 2);
  } finally {
    await dev.close();
  }
});

test('the binary vocabulary equals tokenizer.json, is named by its content hash, and a damaged one is rebuilt', async () => {
  await initHash();
  const source = readFileSync(TOKENIZER_JSON);
  const hash = hashBytes(source);
  const json = parseTokenizerJson(source);
  const parsed = { ...json, pairs: pairTableOf(json.ranks) };
  const bin = encodeVocab(parsed, hash);
  const decoded = decodeVocab(bin, hash)!;
  assert.ok(decoded, 'the encoded vocabulary decodes');
  assert.is(decoded.tokenBytes.length, 128256);
  assert.ok(decoded.tokenBytes.every((b, id) => b === parsed.tokenBytes[id]), 'id -> bytes differ');
  assert.equal([...decoded.ranks], [...parsed.ranks], 'ranks (and their order) differ');
  assert.ok(Buffer.from(decoded.pairs.slots.buffer, decoded.pairs.slots.byteOffset, decoded.pairs.slots.byteLength).equals(Buffer.from(parsed.pairs.slots.buffer)), 'pair tables differ');
  assert.equal([...decoded.pairs.byteIds], [...parsed.pairs.byteIds]);
  // Keyed by content: another hash, a truncated file or a flipped length are not accepted.
  assert.is(decodeVocab(bin, '0'.repeat(32)), undefined);
  assert.is(decodeVocab(bin.subarray(0, bin.length - 1), hash), undefined);
  const bad = Buffer.from(bin);
  bad.writeUInt32LE(5, 8);
  assert.is(decodeVocab(bad, hash), undefined);
  // One changed pair-table entry would change ids silently: the body's hash refuses it.
  const flipped = Buffer.from(bin);
  const entry = 8 + 16 + 64 + 4 * 128256 + 8 * 128000 + 4 * 3 * 1000;
  flipped.writeInt32LE(flipped.readInt32LE(entry) ^ 1, entry);
  assert.is(decodeVocab(flipped, hash), undefined);
  // A vocabulary whose rank keys are not its id bytes round-trips too (explicit keys).
  const odd = { ranks: new Map([['ab', 1], ['zz', 0]]), tokenBytes: ['a', 'b', '<|x|>'], pairs: { slots: new Int32Array(3 * 16), byteIds: new Int32Array(256) } };
  const back = decodeVocab(encodeVocab(odd, hash), hash)!;
  assert.equal([...back.ranks], [...odd.ranks]);
  assert.equal(back.tokenBytes, odd.tokenBytes);

  // The loader writes the file at first use and rebuilds a damaged one.
  const file = vocabBinaryPath(hash);
  writeFileSync(file, 'damaged');
  const loaded = await loadLlama3Vocab();
  assert.is(loaded.sourceHash, hash);
  assert.is(loaded.ranks.size, parsed.ranks.size);
  assert.ok(readFileSync(file).equals(bin), 'the damaged file was not replaced by the binary vocabulary');
});

test('the compiled config is cached by the content of its files', async () => {
  const dir = join(tmp, 'config');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'pipeline.config.ts');
  writeFileSync(join(dir, 'name.ts'), "export const NAME: string = 'first';\n");
  writeFileSync(config, "import { NAME } from './name.ts';\nexport default { name: NAME, workers: 1 as number };\n");
  assert.is((await loadConfig(config, ENGINE_ONLY)).config.name, 'first');
  // The cache entry is what a second load uses (esbuild is not run): plant a different name in it.
  const entries = join(fileURLToPath(new URL('../dist/config/', import.meta.url)));
  const entry = readdirSync(entries).map((f) => join(entries, f)).find((f) => f.endsWith('.json') && readFileSync(f, 'utf8').includes(JSON.stringify(config)));
  assert.ok(entry, 'no cache entry names the config');
  const cached = JSON.parse(readFileSync(entry!, 'utf8'));
  assert.equal(cached.inputs.map((i: { path: string }) => i.path).sort(), [config, join(dir, 'name.ts')].sort());
  writeFileSync(entry!, JSON.stringify({ ...cached, code: cached.code.replace('"first"', '"planted"') }));
  assert.is((await loadConfig(config, ENGINE_ONLY)).config.name, 'planted', 'the cached compiled config was not used');
  // Editing an imported file (not the config itself) invalidates the entry.
  writeFileSync(join(dir, 'name.ts'), "export const NAME: string = 'second';\n");
  assert.is((await loadConfig(config, ENGINE_ONLY)).config.name, 'second');
  // A syntax error is still reported with its position.
  writeFileSync(config, 'export default {\n');
  const err = await loadConfig(config, ENGINE_ONLY).catch((e: RetraceError) => e);
  assert.is((err as RetraceError).code, 'CONFIG_LOAD_FAILED');
  assert.match((err as RetraceError).message, /line \d+/);
});

test('a plain `retrace build` is read without yargs; anything else goes to yargs', () => {
  const base = { config: 'pipeline.config.ts', json: false, recheck: false, strict: false, 'latest-partial': false, events: false, 'repair-cache': false };
  assert.equal(plainBuild(['build']), base);
  assert.equal(plainBuild(['build', '--json', '-c', 'x.ts', '--cache-dir=/c', '--out', 'o']), { ...base, json: true, config: 'x.ts', 'cache-dir': '/c', out: 'o' });
  assert.equal(plainBuild(['build', '--config=a b.ts']), { ...base, config: 'a b.ts' });
  for (const argv of [['status'], ['build', '--help'], ['build', '--recheck'], ['build', '--workers', '2'], ['build', '--json', '--json'], ['build', '--out'], ['build', '--out', '--json'], ['build', '--jsno'], ['build', 'extra'], ['build', '--config', '']]) {
    assert.is(plainBuild(argv), undefined, argv.join(' '));
  }
});

test('npx retrace runs the linked node_modules/.bin/retrace, not an npx-cache install of the project', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.is(pkg.bin, undefined, 'a "bin" in package.json sends every `npx retrace` through an arborist install of the project');
  assert.is(pkg.directories?.bin, undefined, '"directories.bin" is normalized into "bin"');
  assert.match(pkg.scripts.postinstall, /scripts\/link-bin\.mjs/);
  // The link the install made (scripts/link-bin.mjs), and the script re-making it when it is gone.
  const link = join(root, 'node_modules/.bin/retrace');
  assert.is(realpathSync(link), join(root, 'bin/retrace.js'));
  const binDir = join(tmp, 'fake-root/node_modules/.bin');
  mkdirSync(join(tmp, 'fake-root/scripts'), { recursive: true });
  mkdirSync(join(tmp, 'fake-root/bin'), { recursive: true });
  writeFileSync(join(tmp, 'fake-root/bin/retrace.js'), '');
  writeFileSync(join(tmp, 'fake-root/scripts/link-bin.mjs'), readFileSync(join(root, 'scripts/link-bin.mjs')));
  mkdirSync(binDir, { recursive: true });
  writeFileSync(join(binDir, 'retrace'), 'a stale file in the way');
  const made = spawnSync(process.execPath, [join(tmp, 'fake-root/scripts/link-bin.mjs')], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  assert.is(realpathSync(join(binDir, 'retrace')), realpathSync(join(tmp, 'fake-root/bin/retrace.js')));
  // npx itself: no npx-cache install on the way (npm's --loglevel silly names what it does).
  const r = spawnSync('npx', ['--loglevel', 'silly', 'retrace', '--version'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), `retrace ${pkg.version} (node ${process.version})`);
  assert.not.match(r.stderr, /arborist|reify|npx-cache|_npx/i, r.stderr);
});

/** Resolves once `ok()` holds (checked every 20 ms), or fails after `ms`. */
async function until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A watch of the count pipeline (or a variant) over `config`, recording what its hooks are told; `end()` aborts it and waits. */
function watchCounts(config: string, pipeline: Pipeline<CountConfig> = countPipeline) {
  const seen = { built: [] as BuildSummary[], failed: [] as unknown[], warned: [] as string[], polling: false };
  const stop = new AbortController();
  const watching = watchBuilds(
    pipeline,
    { config },
    { reporter: () => new NullReporter(), built: (s, quiet) => void (quiet || seen.built.push(s)), failed: (e) => seen.failed.push(e), waiting: (_p, poll) => (seen.polling = poll), warn: (code) => seen.warned.push(code) },
    stop.signal,
  );
  return { built: seen.built, failed: seen.failed, warned: seen.warned, seen, end: async () => (stop.abort(), await watching) };
}

test('build --watch: a change builds again on the threads already started; a broken config is reported and watched; abort ends the watch', async () => {
  const dir = join(tmp, 'watch');
  mkdirSync(join(dir, 'txt'), { recursive: true });
  writeFileSync(join(dir, 'txt', 'a.txt'), 'one\ntwo');
  writeFileSync(join(dir, 'txt', 'b.txt'), 'x');
  const config = join(dir, 'count.config.mjs');
  writeFileSync(config, "export default { name: 'counts', dir: 'txt', workers: 1 };");
  const before = workerThreadsStarted();
  const w = watchCounts(config);
  const { built, failed } = w;
  try {
    await until(() => built.length === 1, 'the first build');
    assert.is(built[0]!.stages.count.computed, 2);
    const threads = workerThreadsStarted();
    assert.ok(threads > before, 'the first build started a worker');
    writeFileSync(join(dir, 'txt', 'b.txt'), 'x\ny\nz');
    await until(() => built.length === 2, 'the build after an edit');
    assert.is(built[1]!.stages.count.computed, 1, 'only the edited file is computed');
    assert.is(built[1]!.tokens, 5);
    assert.is(workerThreadsStarted(), threads, 'the rebuild ran on the thread the first build started');
    // A config with a syntax error: reported, and the watch goes on (the config file is watched).
    writeFileSync(config, 'export default {');
    await until(() => failed.length === 1, 'the broken config reported');
    assert.instance(failed[0], RetraceError);
    writeFileSync(config, "export default { name: 'counts-again', dir: 'txt', workers: 1 };");
    await until(() => built.length === 3, 'the build after the config is fixed');
    assert.is(built[2]!.name, 'counts-again');
    assert.is(built[2]!.stages.count.cached, 2, 'every item answered from the cache');
  } finally {
    await w.end();
  }
  assert.is(built.length, 3, 'nothing built after the abort');
});

test('build --watch: while idle the pipeline warms the kept pool, so the first edit after an up-to-date build starts no thread', async () => {
  const dir = join(tmp, 'watch-warm');
  mkdirSync(join(dir, 'txt'), { recursive: true });
  writeFileSync(join(dir, 'txt', 'a.txt'), 'one\ntwo');
  const config = join(dir, 'count.config.mjs');
  writeFileSync(config, "export default { name: 'counts-warm', dir: 'txt', workers: 1 };");
  assert.is((await runBuild(countPipeline, { config, reporter: new NullReporter() })).stages.count.computed, 1);
  // The warm hook runs a task (here, counting an empty text) in the pool the watch keeps.
  const pools: unknown[] = [];
  const warming = { ...countPipeline, warm: (_l: unknown, pool: TaskPool) => (pools.push(pool), void pool.run(TASK_URL, { text: '' })) };
  const before = workerThreadsStarted();
  const w = watchCounts(config, warming);
  const { built } = w;
  try {
    await until(() => built.length === 1 && workerThreadsStarted() > before, 'the up-to-date first build, then the warm-up');
    assert.is(built[0]!.upToDate, true, 'the first build computed nothing');
    const warmed = workerThreadsStarted();
    writeFileSync(join(dir, 'txt', 'a.txt'), 'one\ntwo\nthree');
    await until(() => built.length === 2, 'the build after an edit');
    assert.is(built[1]!.stages.count.computed, 1);
    assert.is(built[1]!.tokens, 3);
    assert.is(workerThreadsStarted(), warmed, 'the edit ran on the thread the warm-up started');
    assert.is(pools.length, 2, 'warmed after each build');
    assert.is(pools[0], pools[1], 'the same kept pool');
  } finally {
    await w.end();
  }
});

test('build --watch: a path that cannot be watched (its folder and parent missing) is polled, and its appearing starts a build', async () => {
  const dir = join(tmp, 'watch-poll');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'count.config.mjs');
  writeFileSync(config, "export default { name: 'polled', dir: 'later/txt', workers: 1 };");
  const w = watchCounts(config);
  const { built, failed, warned } = w;
  try {
    await until(() => failed.length === 1, 'the build of a missing folder to fail');
    assert.ok(w.seen.polling, 'the missing folder is polled');
    assert.equal([...new Set(warned)], ['WATCH_POLLING']);
    mkdirSync(join(dir, 'later', 'txt'), { recursive: true });
    writeFileSync(join(dir, 'later', 'txt', 'a.txt'), 'one\ntwo');
    await until(() => built.length === 1, 'the build once the folder appears', 10_000);
    assert.is(built[0]!.tokens, 2);
  } finally {
    await w.end();
  }
});

test('build --watch: a folder that appears is watched through its parent, then itself; deleted and made again, likewise', async () => {
  const dir = join(tmp, 'watch-appear');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'count.config.mjs');
  writeFileSync(config, "export default { name: 'appears', dir: 'txt', workers: 1 };");
  const w = watchCounts(config);
  const { built, failed } = w;
  try {
    await until(() => failed.length === 1, 'the build of a missing folder to fail');
    assert.not.ok(w.seen.polling, 'its parent is watched, not polled');
    mkdirSync(join(dir, 'txt'));
    writeFileSync(join(dir, 'txt', 'a.txt'), 'one');
    await until(() => built.length === 1, 'the build once the folder appears');
    writeFileSync(join(dir, 'txt', 'a.txt'), 'one\ntwo\nthree');
    await until(() => built.length === 2, 'the build after a change inside it');
    assert.is(built[1]!.tokens, 3);
    // Deleted (the build fails), then made again: its parent is watched once more.
    rmSync(join(dir, 'txt'), { recursive: true });
    await until(() => failed.length === 2, 'the build of the deleted folder to fail');
    mkdirSync(join(dir, 'txt'));
    writeFileSync(join(dir, 'txt', 'b.txt'), 'x\ny');
    await until(() => built.length === 3, 'the build once the folder is back');
    assert.is(built[2]!.tokens, 2);
  } finally {
    await w.end();
  }
});

test.run();
