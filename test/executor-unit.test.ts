/**
 * The executor on its own, against the in-memory cache, a trivial stage (line counts of a text)
 * and a task-pool stub: no LMDB, no worker threads, no pipeline.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor, StaleItem, type ExecutorOptions } from '../src/executor.ts';
import { MemoryCache } from '../src/cache/memory.ts';
import { recordRoot, rootKey, rootKeyChunks } from '../src/cache/closure.ts';
import { hashText, initHash } from '../src/hash.ts';
import { defineStage, type StageDef } from '../src/stage.ts';
import type { TaskPool } from '../src/pool.ts';
import { NullReporter, type BuildEvent } from '../src/reporter.ts';
import { RetraceError } from '../src/errors.ts';
import { LmdbCache } from '../src/cache/lmdb-store.ts';
import { actionKey } from '../src/key.ts';
import type { ActionKey } from '../src/hash.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface FileIn {
  repo: string;
  path: string;
  text: string;
}

/** A pool that runs nothing in threads: it records each task and echoes its payload. */
class StubPool implements TaskPool {
  readonly threads = 1;
  readonly tasks: Array<{ moduleUrl: string; payload: unknown }> = [];
  async run<T>(moduleUrl: string, payload: unknown): Promise<T> {
    this.tasks.push({ moduleUrl, payload });
    return payload as T;
  }
  async close(): Promise<void> {}
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * `lines`: one item per file (`repo:path`), keyed by the text's content hash only, so the same
 * file in two repositories has the same key. Runs are counted; `gate` holds them until released;
 * `fail` makes them throw.
 */
function linesStage(opts: { gate?: Promise<void>; fail?: () => boolean } = {}) {
  const runs: string[] = [];
  const stage: StageDef<FileIn, { lines: number }> = defineStage({
    name: 'lines',
    version: '1',
    deps: [],
    description: 'line count of a text file',
    item: (i: FileIn) => `${i.repo}:${i.path}`,
    key: (i: FileIn) => ({ inputs: { text: hashText(i.text) }, settings: {} }),
    run: async (i: FileIn, ctx) => {
      runs.push(ctx.item);
      await opts.gate;
      if (opts.fail?.()) throw new Error(`cannot count ${i.path}`);
      return { lines: i.text.split('\n').length };
    },
  });
  return { stage, runs };
}

function executor(extra: Partial<ExecutorOptions> = {}) {
  const cache = new MemoryCache();
  const reporter = new NullReporter(true);
  const pool = new StubPool();
  const exec = new Executor({ cache, pool, reporter, ...extra });
  return { exec, cache, reporter, pool };
}

/** Records `exec`'s version root as t/<version> and reads its keys back. */
async function recordedClosure(cache: MemoryCache, version: string, exec: Executor): Promise<Set<string>> {
  await recordRoot(cache, 't', version, exec.usedKeys);
  const keys = new Set<string>();
  for await (const chunk of rootKeyChunks((h) => cache.getBlob(h), (await cache.getAction(rootKey('t', version)))!, `t/${version}`)) for (const k of chunk) keys.add(k);
  return keys;
}

const settle = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
const itemEvents = (events: BuildEvent[]) => events.filter((e) => e.type === 'item' || e.type === 'item-failed').map((e) => `${e.type} ${e.item}`).sort();

test.before(() => initHash());

test('the same key in two items at once, success: one run, the second counts as cached and gets its own explain history', async () => {
  const { exec, cache, reporter } = executor();
  const gate = deferred();
  const { stage, runs } = linesStage({ gate: gate.promise });
  const text = 'a\nb\nc';
  const first = exec.run(stage, { repo: 'r1', path: 'x.txt', text });
  const second = exec.run(stage, { repo: 'r2', path: 'x.txt', text });
  gate.resolve();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(runs, ['r1:x.txt'], 'computed once');
  assert.equal(a.value, { lines: 3 });
  assert.equal(b.value, { lines: 3 });
  assert.is(a.cached, false);
  assert.is(b.cached, true);
  assert.is(a.key, b.key);
  assert.is(a.hash, b.hash);
  const s = exec.statsFor('lines');
  assert.equal({ items: s.items, computed: s.computed, cached: s.cached, failed: s.failed }, { items: 2, computed: 1, cached: 1, failed: 0 });
  const h1 = await cache.getItem('lines', 'r1:x.txt');
  const h2 = await cache.getItem('lines', 'r2:x.txt');
  assert.ok(h1, 'first item recorded');
  assert.ok(h2, 'second item recorded under its own name (explain history)');
  assert.is(h2!.item, 'r2:x.txt');
  assert.is(h2!.key, a.key);
  assert.is(h2!.output, a.hash);
  assert.equal(h2!.parts, h1!.parts);
  assert.equal(itemEvents(reporter.events), ['item r1:x.txt', 'item r2:x.txt'], 'each item reported once');
});

test('the same key in two items at once, failure: both count as failed, each under its own name, nothing cached', async () => {
  const { exec, cache, reporter } = executor();
  const gate = deferred();
  const { stage, runs } = linesStage({ gate: gate.promise, fail: () => true });
  const text = 'same bytes';
  const first = settle(exec.run(stage, { repo: 'r1', path: 'x.txt', text }));
  const second = settle(exec.run(stage, { repo: 'r2', path: 'x.txt', text }));
  gate.resolve();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(runs, ['r1:x.txt'], 'computed once');
  assert.not.ok(a.ok);
  assert.not.ok(b.ok, 'the second item fails too');
  assert.instance(b.ok ? undefined : b.error, RetraceError);
  assert.is((b.ok ? undefined : (b.error as RetraceError))?.item, 'r2:x.txt', 'the error the second caller sees names its own item');
  const s = exec.statsFor('lines');
  assert.equal({ items: s.items, computed: s.computed, cached: s.cached, failed: s.failed }, { items: 2, computed: 0, cached: 0, failed: 2 });
  assert.equal(
    exec.failures.map((f) => `${f.stage} ${f.item} ${f.code} ${f.message}`).sort(),
    ['lines r1:x.txt STAGE_FAILED cannot count x.txt', 'lines r2:x.txt STAGE_FAILED cannot count x.txt'],
  );
  assert.is(cache.actions.size, 0, 'a failure is never cached');
  assert.is(await cache.getItem('lines', 'r2:x.txt'), undefined);
  assert.equal(itemEvents(reporter.events), ['item-failed r1:x.txt', 'item-failed r2:x.txt']);
});

test('the same key in two items at once, status mode: both are stale, neither counts as cached', async () => {
  const { exec } = executor({ mode: 'status' });
  const { stage, runs } = linesStage();
  const text = 'never built';
  const [a, b] = await Promise.all([
    settle(exec.run(stage, { repo: 'r1', path: 'x.txt', text })),
    settle(exec.run(stage, { repo: 'r2', path: 'x.txt', text })),
  ]);
  assert.equal(runs, [], 'status never computes');
  assert.instance(a.ok ? undefined : a.error, StaleItem);
  assert.instance(b.ok ? undefined : b.error, StaleItem);
  assert.equal(exec.stale.map((x) => x.item).sort(), ['r1:x.txt', 'r2:x.txt']);
  const s = exec.statsFor('lines');
  assert.equal({ items: s.items, cached: s.cached, failed: s.failed }, { items: 0, cached: 0, failed: 0 });
  assert.equal(exec.failures, []);
});

test('dedupe: identical keys in flight share one run; later requests are cache hits; distinct keys are not merged', async () => {
  const { exec, cache } = executor();
  const gate = deferred();
  const { stage, runs } = linesStage({ gate: gate.promise });
  const text = 'one\ntwo';
  const pending = ['r1', 'r2', 'r3', 'r4', 'r5'].map((repo) => exec.run(stage, { repo, path: 'f.txt', text }));
  const other = exec.run(stage, { repo: 'r1', path: 'g.txt', text: 'other' });
  gate.resolve();
  const results = await Promise.all(pending);
  await other;
  assert.equal(runs.sort(), ['r1:f.txt', 'r1:g.txt'], 'one run per distinct key');
  assert.equal(results.map((r) => r.cached), [false, true, true, true, true]);
  assert.equal(new Set(results.map((r) => r.key)).size, 1);
  assert.is(cache.actions.size, 2, 'one action record per key');
  assert.is(cache.calls.putAction, 2);
  for (const repo of ['r1', 'r2', 'r3', 'r4', 'r5']) assert.ok(await cache.getItem('lines', `${repo}:f.txt`), `${repo} has explain history`);
  const s = exec.statsFor('lines');
  assert.equal({ items: s.items, computed: s.computed, cached: s.cached }, { items: 6, computed: 2, cached: 4 });

  // Once the computation has finished, the same key is answered from the cache, not run again.
  const later = await exec.run(stage, { repo: 'r6', path: 'f.txt', text });
  assert.is(later.cached, true);
  assert.equal(later.value, { lines: 2 });
  assert.is(runs.length, 2);
  // The used keys reach the cache in chunks (cache/closure.ts); read back through a root.
  const used = await recordedClosure(cache, 'v1', exec);
  assert.equal(used, new Set([results[0].key, (await other).key]));
});

/** `imports`: the import lines of a JS file (sorted), keyed by the file's content. */
function importsStage() {
  const runs: string[] = [];
  const stage = defineStage<FileIn, string[]>({
    name: 'imports',
    version: '1',
    deps: [],
    description: 'import lines of a file',
    item: (i) => `${i.repo}:${i.path}`,
    key: (i) => ({ inputs: { content: hashText(i.text) }, settings: {} }),
    run: async (i, ctx) => {
      runs.push(ctx.item);
      return i.text.split('\n').filter((l) => l.startsWith('import ')).sort();
    },
  });
  return { stage, runs };
}

/** `graph`: keyed by the *output hash* of `imports` only, as the real graph stage is. */
function graphStage() {
  const runs: string[] = [];
  const stage = defineStage<{ repo: string; imports: string[]; importsHash: string }, { edges: number }>({
    name: 'graph',
    version: '1',
    deps: ['imports'],
    description: 'edges of a repository',
    item: (i) => i.repo,
    key: (i) => ({ inputs: { imports: i.importsHash }, settings: { resolver: 'node' } }),
    run: async (i, ctx) => {
      runs.push(ctx.item);
      return { edges: i.imports.length };
    },
  });
  return { stage, runs };
}

test('early cutoff: a recomputed upstream item with the same output hash leaves the downstream key unchanged and cached', async () => {
  const cache = new MemoryCache();
  const imports = importsStage();
  const graph = graphStage();
  const build = async (text: string) => {
    const exec = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() });
    const up = await exec.run(imports.stage, { repo: 'r', path: 'a.js', text });
    const down = await exec.run(graph.stage, { repo: 'r', imports: up.value, importsHash: up.hash });
    return { exec, up, down };
  };
  const v1 = 'import x from "./x.js";\nexport const a = 1;';
  const b1 = await build(v1);
  assert.is(b1.up.cached, false);
  assert.is(b1.down.cached, false);
  assert.is(b1.exec.statsFor('imports').unchanged, 0, 'nothing to compare with on a first build');

  // A comment edit: the file's hash (the upstream key) changes, its import list does not.
  const b2 = await build('// a comment\n' + v1);
  assert.is(b2.up.cached, false, 'upstream recomputed');
  assert.is.not(b2.up.key, b1.up.key);
  assert.is(b2.up.hash, b1.up.hash, 'same output hash');
  assert.is(b2.exec.statsFor('imports').unchanged, 1, 'reported as recomputed but unchanged');
  assert.is(b2.down.key, b1.down.key, 'downstream key unchanged');
  assert.is(b2.down.cached, true, 'downstream answered from the cache');
  assert.equal(graph.runs, ['r'], 'graph ran once in two builds');
  const hist = await cache.getItem('imports', 'r:a.js');
  assert.is(hist?.key, b2.up.key);
  assert.is(hist?.previous?.key, b1.up.key, 'explain history keeps the previous key');

  // Control: an import edit changes the upstream output, so the downstream key and result change.
  const b3 = await build('import y from "./y.js";\n' + v1);
  assert.is.not(b3.up.hash, b1.up.hash);
  assert.is(b3.exec.statsFor('imports').unchanged, 0);
  assert.is.not(b3.down.key, b1.down.key);
  assert.is(b3.down.cached, false);
  assert.equal(b3.down.value, { edges: 2 });
  assert.equal(graph.runs, ['r', 'r']);
});

test('failures are recorded with the stage error code, item and hint, and never cached', async () => {
  const cache = new MemoryCache();
  let failing = true;
  const { stage, runs } = linesStage({ fail: () => failing });
  const reporter = new NullReporter(true);
  const exec = new Executor({ cache, pool: new StubPool(), reporter });
  const err = await exec.run(stage, { repo: 'r', path: 'a.txt', text: 'x' }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, RetraceError);
  assert.is((err as RetraceError).code, 'STAGE_FAILED', 'an uncoded exception becomes STAGE_FAILED');
  assert.is((err as RetraceError).item, 'r:a.txt');
  assert.equal(exec.failures, [{ stage: 'lines', item: 'r:a.txt', code: 'STAGE_FAILED', message: 'cannot count a.txt', hint: undefined }]);
  assert.is(exec.statsFor('lines').failed, 1);
  assert.is(exec.statsFor('lines').computed, 0);
  assert.is(cache.actions.size, 0, 'no action record for a failure');
  assert.is(cache.calls.putAction, 0);
  assert.is(await cache.getItem('lines', 'r:a.txt'), undefined, 'no explain history for a failure');
  assert.is(exec.usedKeys.size, 0);
  assert.equal(itemEvents(reporter.events), ['item-failed r:a.txt']);

  // A coded error keeps its code, item and hint.
  const coded = defineStage<FileIn, number>({
    name: 'coded',
    version: '1',
    deps: [],
    description: 'throws a RetraceError',
    item: (i) => `${i.repo}:${i.path}`,
    key: (i) => ({ inputs: { text: hashText(i.text) }, settings: {} }),
    run: async (i) => {
      throw new RetraceError('WORKER_FAILED', 'worker crashed', { item: `${i.repo}:${i.path}@line 3`, hint: 'retry' });
    },
  });
  await exec.run(coded, { repo: 'r', path: 'b.txt', text: 'y' }).catch(() => undefined);
  assert.equal(exec.failures[1], { stage: 'coded', item: 'r:b.txt@line 3', code: 'WORKER_FAILED', message: 'worker crashed', hint: 'retry' });

  // The next build computes the item again (the failure was not cached) and caches the success.
  failing = false;
  const again = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() });
  const ok = await again.run(stage, { repo: 'r', path: 'a.txt', text: 'x' });
  assert.is(ok.cached, false);
  assert.equal(runs, ['r:a.txt', 'r:a.txt']);
  assert.equal(again.failures, []);
  const third = await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() }).run(stage, { repo: 'r', path: 'a.txt', text: 'x' });
  assert.is(third.cached, true);
  assert.is(runs.length, 2);
});

test('a damaged or missing blob is a miss: the item is recomputed, never decoded from bad bytes', async () => {
  const cache = new MemoryCache();
  const refs = { runs: 0 };
  const stage = defineStage<FileIn, { stored: string; n: number }>({
    name: 'store',
    version: '1',
    deps: [],
    description: 'stores the text as a blob and returns its hash',
    item: (i) => `${i.repo}:${i.path}`,
    key: (i) => ({ inputs: { text: hashText(i.text) }, settings: {} }),
    run: async (i, ctx) => {
      refs.runs++;
      const echoed = await ctx.pool.run<string>('stub://upper', i.text.toUpperCase(), { item: ctx.item });
      const stored = await ctx.putBlob(new TextEncoder().encode(echoed));
      return { stored, n: refs.runs };
    },
  });
  const run = () => new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() }).run(stage, { repo: 'r', path: 'a.txt', text: 'hello' });
  const first = await run();
  assert.is(first.cached, false);
  assert.equal(cache.actions.get(first.key)?.refs, [first.value.stored], 'blobs put through the context are the record refs');
  assert.is((await run()).cached, true);

  cache.corrupt(first.hash); // the encoded output
  const second = await run();
  assert.is(second.cached, false, 'damaged output recomputed');
  assert.is(second.value.n, 2);
  assert.equal(cache.corruptSeen, [first.hash]);

  cache.blobs.delete(first.value.stored as never); // a ref
  const third = await run();
  assert.is(third.cached, false, 'missing ref recomputed');
  assert.is(third.value.n, 3);
  assert.ok(await cache.hasBlob(first.value.stored as never), 'the ref is stored again');
});

test('status mode answers hits from the cache and reports every other item as stale, with what changed, computing nothing', async () => {
  const cache = new MemoryCache();
  const { stage, runs } = linesStage();
  await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() }).run(stage, { repo: 'r', path: 'a.txt', text: 'v1' });
  await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter() }).run(stage, { repo: 'r', path: 'b.txt', text: 'same' });
  const writes = cache.calls.putAction + cache.calls.putBlob;
  const itemKey = (await cache.getItem('lines', 'r:a.txt'))?.key;
  assert.ok(itemKey);

  const exec = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(), mode: 'status' });
  const hit = await exec.run(stage, { repo: 'r', path: 'b.txt', text: 'same' });
  assert.is(hit.cached, true);
  assert.equal(hit.value, { lines: 1 });
  const changed = await exec.run(stage, { repo: 'r', path: 'a.txt', text: 'v2' }).then(() => undefined, (e: unknown) => e);
  assert.instance(changed, StaleItem);
  assert.equal((changed as StaleItem).changes, [{ field: 'inputs.text', before: hashText('v1'), after: hashText('v2') }]);
  const fresh = await exec.run(stage, { repo: 'r', path: 'new.txt', text: 'v3' }).then(() => undefined, (e: unknown) => e);
  assert.is((fresh as StaleItem).changes, 'new');
  assert.equal(exec.stale.map((x) => `${x.stage} ${x.item}`), ['lines r:a.txt', 'lines r:new.txt']);
  assert.equal(runs, ['r:a.txt', 'r:b.txt'], 'status ran nothing');
  assert.is(cache.calls.putAction + cache.calls.putBlob, writes, 'no results written');
  assert.equal((await cache.getItem('lines', 'r:a.txt'))?.key, itemKey, 'explain history untouched');
  const s = exec.statsFor('lines');
  assert.equal({ items: s.items, cached: s.cached, computed: s.computed, failed: s.failed }, { items: 1, cached: 1, computed: 0, failed: 0 });
  assert.equal(exec.failures, [], 'stale is not a failure');
});

test('the cache salt is part of every key: another salt never answers', async () => {
  const cache = new MemoryCache();
  const { stage, runs } = linesStage();
  const input = { repo: 'r', path: 'a.txt', text: 'x' };
  const a = await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(), salt: 's1' }).run(stage, input);
  const b = await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(), salt: 's2' }).run(stage, input);
  const c = await new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(), salt: 's1' }).run(stage, input);
  assert.is.not(a.key, b.key);
  assert.is(b.cached, false);
  assert.is(c.cached, true);
  assert.is(runs.length, 2);
  assert.equal(cache.actions.get(a.key)?.parts.settings, { cacheSalt: 's1' });
});

test('the in-memory cache answers as the LMDB store does (damaged blobs, item history)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrace-executor-unit-'));
  const lmdb = LmdbCache.open(dir);
  const mem = new MemoryCache();
  try {
    const parts = (text: string) => ({ stage: 'lines', version: '1', inputs: { text: hashText(text) }, settings: {} });
    const trace: unknown[][] = [[], []];
    for (const [i, cache] of [lmdb, mem].entries()) {
      const t = trace[i];
      const good = await cache.putBlob(new TextEncoder().encode('good bytes'));
      t.push(good, await cache.hasBlob(good), new TextDecoder().decode(await cache.getBlob(good)));
      t.push(await cache.getAction('00'.repeat(16) as ActionKey), await cache.getItem('lines', 'r:a'));
      const k1 = actionKey(parts('v1'));
      const k2 = actionKey(parts('v2'));
      const state = (key: ActionKey, text: string, builtAt: number) => ({ stage: 'lines', item: 'r:a', key, parts: parts(text), output: good, builtAt });
      await cache.recordItem(state(k1, 'v1', 1));
      await cache.recordItem(state(k1, 'v1', 2)); // same key: no new history
      const once = await cache.getItem('lines', 'r:a');
      t.push(once?.key, once?.builtAt, once?.previous ?? null);
      await cache.recordItem(state(k2, 'v2', 3));
      const twice = await cache.getItem('lines', 'r:a');
      t.push(twice?.key, twice?.previous);
      await cache.putAction(k1, { format: 1, stage: 'lines', item: 'r:a', output: good, refs: [], parts: parts('v1'), ms: 1, createdAt: 5, usedAt: Date.now() });
      t.push((await cache.getAction(k1))?.output);
    }
    assert.equal(trace[1], trace[0]);
    const [k1, k2] = [actionKey(parts('v1')), actionKey(parts('v2'))];
    assert.equal(trace[1].slice(5, 9), [k1, 1, null, k2], 'recording the same key again keeps the first record and adds no history');
    assert.equal(trace[1][9], { key: k1, parts: parts('v1'), output: trace[1][0], builtAt: 1 }, 'a new key keeps the old one as previous');
  } finally {
    await lmdb.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // Damage: both re-hash on read, drop the blob and report it missing.
  const bytes = new TextEncoder().encode('fragile');
  const h = await mem.putBlob(bytes);
  bytes[0] ^= 1;
  assert.equal(await mem.getBlob(h), new TextEncoder().encode('fragile'), 'the caller mutating its buffer does not reach the store');
  mem.corrupt(h);
  assert.is(await mem.getBlob(h), undefined);
  assert.is(await mem.hasBlob(h), false, 'a damaged blob is dropped');
  assert.equal(mem.corruptSeen, [h]);
});

/** A memo over a chain of `lines` items (a repository of files), keyed by a stamp: run through the executor the memo gives. */
function chainMemo(lines: StageDef<FileIn, { lines: number }>) {
  const stage = defineStage<{ repo: string; stamp: string; files: FileIn[] }, number>({
    name: 'chain',
    version: '1',
    deps: ['lines'],
    description: 'total lines of a repository',
    memo: true,
    item: (i) => i.repo,
    key: (i) => ({ inputs: { stamp: i.stamp }, settings: {} }),
    run: async (i, ctx) => {
      const exec = ctx.exec!;
      exec.tally('files', i.files.length);
      const counts = await Promise.all(i.files.map((f) => exec.run(lines, f).then((r) => r.value.lines)));
      return counts.reduce((a, b) => a + b, 0);
    },
  });
  return stage;
}

test('memo: a hit answers the chain without running it, its keys join the closure, its items count as cached, its tallies come back', async () => {
  const { exec, cache } = executor();
  const { stage: lines, runs } = linesStage();
  const memo = chainMemo(lines);
  const files = [
    { repo: 'r', path: 'a.txt', text: 'a\nb' },
    { repo: 'r', path: 'b.txt', text: 'c' },
  ];
  const first = await exec.memo(memo, { repo: 'r', stamp: 's1', files });
  assert.equal({ value: first.value, cached: first.cached, tallies: first.tallies }, { value: 3, cached: false, tallies: { files: 2 } });
  assert.is(runs.length, 2);

  const again = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(true) });
  const hit = await again.memo(chainMemo(lines), { repo: 'r', stamp: 's1', files });
  assert.equal({ value: hit.value, cached: hit.cached, tallies: hit.tallies }, { value: 3, cached: true, tallies: { files: 2 } });
  assert.is(runs.length, 2, 'no item of the chain ran');
  const st = again.statsFor('lines');
  assert.equal({ items: st.items, cached: st.cached, computed: st.computed }, { items: 2, cached: 2, computed: 0 });
  assert.equal(again.statsFor('chain').cached, 1);
  const lineKeys = files.map((f) => actionKey({ stage: 'lines', version: '1', inputs: { text: hashText(f.text) }, settings: {} }));
  const closure = await recordedClosure(cache, 'memo', again);
  for (const k of lineKeys) assert.ok(closure.has(k), `chain key ${k} in the version root`);
  assert.is(closure.size, 3, "the chain's two keys and the memo's own");
});

test('memo: a chain runs its items through the executor its memo gives; a memo inside it hands keys, counts and tallies on to the one around it', async () => {
  const { exec, cache } = executor();
  const { stage: lines, runs } = linesStage();
  const inner = chainMemo(lines);
  const files = [
    { repo: 'r', path: 'a.txt', text: 'a\nb' },
    { repo: 'r', path: 'b.txt', text: 'c' },
  ];
  const elsewhere = { repo: 'r', path: 'c.txt', text: 'd\ne\nf' };
  // The outer memo runs the inner one and one item of its own through ctx.exec, and one more
  // through the build's executor: that one is the build's, not the memo's.
  const outer = defineStage<{ repo: string; stamp: string }, number>({
    name: 'outer',
    version: '1',
    deps: ['chain'],
    description: 'a memo around a memo',
    memo: true,
    item: (i) => i.repo,
    key: (i) => ({ inputs: { stamp: i.stamp }, settings: {} }),
    run: async (_i, ctx) => {
      const own = await ctx.exec!.run(lines, { repo: 'r', path: 'own.txt', text: 'x' });
      await exec.run(lines, elsewhere);
      const sub = await ctx.exec!.memo(inner, { repo: 'r', stamp: 'inner', files });
      ctx.exec!.tally('outer', 1);
      return sub.value + own.value.lines;
    },
  });
  const first = await exec.memo(outer, { repo: 'r', stamp: 'o1' });
  assert.equal({ value: first.value, cached: first.cached, tallies: first.tallies }, { value: 4, cached: false, tallies: { files: 2, outer: 1 } });
  assert.is(runs.length, 4);
  const again = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(true) });
  const hit = await again.memo(outer, { repo: 'r', stamp: 'o1' });
  assert.equal({ value: hit.value, cached: hit.cached, tallies: hit.tallies }, { value: 4, cached: true, tallies: { files: 2, outer: 1 } });
  assert.is(runs.length, 4, 'nothing ran');
  const st = again.statsFor('lines');
  assert.equal({ items: st.items, cached: st.cached }, { items: 3, cached: 3 }, "the inner chain's two items and the outer's own, not the build's");
  const closure = await recordedClosure(cache, 'nested', again);
  const key = (text: string) => actionKey({ stage: 'lines', version: '1', inputs: { text: hashText(text) }, settings: {} });
  for (const t of ['a\nb', 'c', 'x']) assert.ok(closure.has(key(t)), `${JSON.stringify(t)} in the version root`);
  assert.not.ok(closure.has(key(elsewhere.text)), "an item run through the build's executor is not the memo's");
  assert.is(closure.size, 5, "three items, the inner memo's key and the outer's");
});

test('memo: a failed item or status mode stores nothing; a chain record gone is a miss', async () => {
  const { exec, cache } = executor();
  let failing = true;
  const { stage: lines, runs } = linesStage({ fail: () => failing });
  const files = [{ repo: 'r', path: 'a.txt', text: 'x' }];
  const memo = chainMemo(lines);
  const failed = await settle(exec.memo(memo, { repo: 'r', stamp: 's', files }));
  assert.is(failed.ok, false, 'the chain failed');
  assert.is(exec.statsFor('chain').items, 0, 'a failed chain is not an item of the memo');
  failing = false;
  const attempt = await exec.memo(memo, { repo: 'r', stamp: 's', files });
  assert.is(attempt.cached, false, 'the failure stored no memo');
  assert.is(runs.length, 2);

  const status = new Executor({ cache: new MemoryCache(), pool: new StubPool(), reporter: new NullReporter(true), mode: 'status' });
  const stale = await settle(status.memo(chainMemo(lines), { repo: 'r', stamp: 's', files }));
  assert.ok(!stale.ok && stale.error instanceof StaleItem, 'status computes nothing');

  // The line item's record goes (gc): the memo misses and the chain answers what is left.
  const key = actionKey({ stage: 'lines', version: '1', inputs: { text: hashText('x') }, settings: {} });
  cache.actions.delete(key);
  const fresh = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(true) });
  const r = await fresh.memo(chainMemo(lines), { repo: 'r', stamp: 's', files });
  assert.is(r.cached, false);
  assert.is(runs.length, 3, 'the missing item ran again');
  const back = new Executor({ cache, pool: new StubPool(), reporter: new NullReporter(true) });
  assert.is((await back.memo(chainMemo(lines), { repo: 'r', stamp: 's', files })).cached, true, 'stored again once whole');
});

test('memo: while the cache\'s removal mark is unchanged a hit checks no key; a gc that removes one changes it and the hit checks again (and misses)', async () => {
  await initHash();
  const dir = mkdtempSync(join(tmpdir(), 'retrace-memo-mark-'));
  const lmdb = LmdbCache.open(dir);
  try {
    await lmdb.startBuildLease(); // gives a new environment its mark
    const mark = lmdb.removalMark();
    assert.type(mark, 'string');
    const checks = { actions: 0, blobs: 0 };
    const hasActions = lmdb.hasActions.bind(lmdb);
    const hasBlob = lmdb.hasBlob.bind(lmdb);
    lmdb.hasActions = async (keys) => ((checks.actions += keys.length), hasActions(keys));
    lmdb.hasBlob = async (h) => (checks.blobs++, hasBlob(h));
    const { stage: lines, runs } = linesStage();
    const files = [
      { repo: 'r', path: 'a.txt', text: 'one' },
      { repo: 'r', path: 'b.txt', text: 'two\nlines' },
    ];
    const build = () => {
      const exec = new Executor({ cache: lmdb, pool: new StubPool(), reporter: new NullReporter(true) });
      return exec.memo(chainMemo(lines), { repo: 'r', stamp: 's', files });
    };
    assert.is((await build()).cached, false);
    assert.is((await build()).cached, true);
    assert.equal(checks, { actions: 0, blobs: 0 }, 'the mark vouched for every key');
    // gc with nothing to remove leaves the mark alone.
    await lmdb.gc({ maxAgeMs: 3_600_000 });
    assert.is(lmdb.removalMark(), mark);
    // A line record goes by gc (aged by hand; no lease then guards it): the mark changes, the hit checks its keys and misses.
    await lmdb.close();
    const again = LmdbCache.open(dir);
    const key = actionKey({ stage: 'lines', version: '1', inputs: { text: hashText('one') }, settings: {} });
    const rec = (await again.getAction(key))!;
    await again.putAction(key, { ...rec, usedAt: 0, createdAt: 0 });
    const gc = await again.gc({ maxAgeMs: 60_000 });
    assert.ok(gc.actionsRemoved >= 1, JSON.stringify(gc));
    assert.is.not(again.removalMark(), mark, 'a removal changes the mark');
    const exec = new Executor({ cache: again, pool: new StubPool(), reporter: new NullReporter(true) });
    const r = await exec.memo(chainMemo(lines), { repo: 'r', stamp: 's', files });
    assert.is(r.cached, false, 'the removed key made the memo miss');
    assert.is(runs.length, 3, 'only the removed item ran again');
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
