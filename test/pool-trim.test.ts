/**
 * Pool trimming (issue 17, flat memory): `trim()` lets go of the threads of every set that has no
 * task running or queued, so a phase that follows another (shards after parse and tokenize) does
 * not keep the earlier phase's idle threads, heaps and WASM memories alive beside its own. A set
 * with a task in flight is left alone, and a task after a trim starts a new thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PiscinaPool, TRIM_BELOW_TASKS, workerThreadsStarted } from '../src/pool.ts';
import { TOKENIZE_YOUNG_GENERATION_MB, warmTokenizer } from '../stages/tokenize/stage.ts';

const tmp = mkdtempSync(join(tmpdir(), 'retrace-pool-trim-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// Answers with the id of the thread it ran on, after `ms` milliseconds.
const TASK = join(tmp, 'thread-task.mjs');
writeFileSync(TASK, `import { threadId } from 'node:worker_threads';\nexport default async function ({ ms }) { await new Promise((r) => setTimeout(r, ms)); return threadId; }\n`);
const URL_ = pathToFileURL(TASK).href;

test('trim closes idle sets of threads only; the next task starts a new thread', async () => {
  const pool = new PiscinaPool(1);
  try {
    const started0 = workerThreadsStarted();
    const a1 = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    const b1 = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 16 });
    assert.is(workerThreadsStarted() - started0, 2, 'one thread per set');
    // Set 8 is given more tasks than a trim keeps a set for.
    for (let i = 0; i < TRIM_BELOW_TASKS; i++) assert.is(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 }), a1, 'an idle thread is reused before a trim');

    // Set 16 is busy while the pool is trimmed: its thread stays and finishes the task.
    const busy = pool.run<number>(URL_, { ms: 400 }, { youngGenerationMb: 16 });
    await new Promise((r) => setTimeout(r, 100));
    await pool.trim();
    assert.is(await busy, b1, 'the busy set kept its thread');
    assert.is(workerThreadsStarted() - started0, 2, 'trim starts nothing');

    const a2 = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    assert.is.not(a2, a1, 'the trimmed set runs on a new thread');
    assert.is(workerThreadsStarted() - started0, 3);
    assert.is(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 16 }), b1, 'the set that was busy still has its thread');

    // A failed task counts as finished: its set can be trimmed afterwards.
    for (let i = 0; i < TRIM_BELOW_TASKS; i++) await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    await pool.run(pathToFileURL(join(tmp, 'missing.mjs')).href, {}, { youngGenerationMb: 8 }).then(
      () => assert.unreachable('a missing module fails'),
      () => undefined,
    );
    await pool.trim();
    assert.is.not(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 }), a2, 'trimmed after a failure too');
  } finally {
    await pool.close();
  }
});

test('trim keeps a set that was given few tasks (an edit: the shard phase reuses the tokenizer thread)', async () => {
  const pool = new PiscinaPool(1);
  try {
    const started0 = workerThreadsStarted();
    const t = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    await pool.trim();
    assert.is(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 }), t, 'the same thread after the trim');
    assert.is(workerThreadsStarted() - started0, 1);
  } finally {
    await pool.close();
  }
});

test('a pool that keeps its threads (build --watch) trims none, however many tasks a set was given', async () => {
  const pool = new PiscinaPool(1, true);
  try {
    const t = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    for (let i = 0; i < TRIM_BELOW_TASKS + 1; i++) await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 });
    await pool.trim();
    assert.is(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: 8 }), t, 'the same thread after the trim');
  } finally {
    await pool.close();
  }
});

test('warmTokenizer starts one tokenizer thread per pool, which the first tokenize task then runs on', async () => {
  const pool = new PiscinaPool(1);
  try {
    const started0 = workerThreadsStarted();
    warmTokenizer(pool);
    warmTokenizer(pool); // once per pool
    for (let waited = 0; workerThreadsStarted() === started0 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    assert.is(workerThreadsStarted() - started0, 1, 'the warm-up started a thread by itself');
    // A task of the tokenizer's set after the warm-up: the same thread, none started for it.
    const t = await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB });
    assert.is(workerThreadsStarted() - started0, 1, 'one thread for the warm-up and the task after it');
    assert.is(await pool.run<number>(URL_, { ms: 0 }, { youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB }), t);
  } finally {
    await pool.close();
  }
});

test.run();
