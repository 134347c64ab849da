/**
 * The executor on its own, against the in-memory cache, a trivial stage (line counts of a text)
 * and a task-pool stub: no LMDB, no worker threads, no pipeline.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Executor, StaleItem, type ExecutorOptions } from '../src/executor.ts';
import { MemoryCache } from '../src/cache/memory.ts';
import { hashText, initHash } from '../src/hash.ts';
import { defineStage, type StageDef } from '../src/stage.ts';
import type { TaskPool } from '../src/pool.ts';
import { NullReporter, type BuildEvent } from '../src/reporter.ts';
import { RetraceError } from '../src/errors.ts';

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

test.run();
