/**
 * Several processes on one cache (issue 19), through the real `retrace` binary: four concurrent
 * cold builds all succeed with the reference version; `cache gc` in every local mode, run over and
 * over while builds run, breaks none of them and leaves `cache verify` clean; two concurrent
 * trajectory builds against the loopback LLM server send each call once (claims). The 50-round
 * sweep of the first case is bench/cache-concurrency.ts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, Project, type CliResult } from './helpers/project.ts';
import { startLlmServer } from './helpers/llm-server.ts';
import { FIXTURES, jsonAnswer, ok, project, removeProjects, successes } from './fixtures/trajectory/harness.ts';

const BUILD_TIMEOUT_MS = 90_000;

const p = new Project('retrace-conc-');
const js = (i: number) => `import { f${(i + 1) % 12} } from './m${(i + 1) % 12}.js';\nexport function f${i}(x) { return x > ${i} ? x : f${(i + 1) % 12}(x + 1); }\n// ${'padding '.repeat(40 * i)}\n`;
for (const r of ['one', 'two', 'three']) {
  p.repo(r, Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`src/m${i}.js`, `// ${r}\n${js(i)}`])));
}
p.config({ name: 'conc', format: 'raw', sources: [{ dir: 'repos/one' }, { dir: 'repos/two' }, { dir: 'repos/three' }], workers: 1, output: { shardTokens: 2000 } });

/** Run the CLI asynchronously; a run still going after the timeout is killed and reported hung. */
function cli(args: string[], timeoutMs = BUILD_TIMEOUT_MS): Promise<CliResult & { hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: p.dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: any;
      const at = stdout.lastIndexOf('\n{');
      try {
        json = JSON.parse(at >= 0 ? stdout.slice(at + 1) : stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json, hung });
    });
  });
}

const build = (cache: string, out = 'out', ...more: string[]) => cli(['build', '--json', '--config', 'pipeline.config.ts', '--cache-dir', p.path(cache), '--out', p.path(out), ...more]);
const cacheCmd = (cache: string, ...args: string[]) => cli(['cache', ...args, '--json', '--config', 'pipeline.config.ts', '--cache-dir', p.path(cache)], 60_000);

function succeeded(r: CliResult & { hung: boolean }, what: string): any {
  assert.not.ok(r.hung, `${what} hung (killed after ${BUILD_TIMEOUT_MS} ms)\n${r.stderr.slice(-1500)}`);
  assert.is(r.code, 0, `${what}: exit ${r.code}\n${r.stderr.slice(-1500)}`);
  assert.equal(r.json?.failures, [], `${what} reported failures`);
  return r.json;
}

let reference = '';

test('reference version: one build alone on its own cache', async () => {
  reference = succeeded(await build('ref'), 'reference build').version;
  assert.ok(reference);
});

test('4 concurrent cold builds on one cache: all succeed with the reference version, none hangs; verify clean', async () => {
  const runs = await Promise.all([0, 1, 2, 3].map((i) => build('shared4', `out${i}`)));
  runs.forEach((r, i) => assert.is(succeeded(r, `build ${i}`).version, reference));
  const v = await cacheCmd('shared4', 'verify');
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.ok(v.json.ok, v.stdout);
});

test('gc in every local mode, repeatedly, during concurrent builds: every build succeeds; verify clean after', async () => {
  // An older version pinned, so the pinned mode (keep a closure) is exercised too.
  succeeded(await build('gcd', 'outpin'), 'first build');
  const pin = await cli(['dataset', 'pin', 'latest', '--json', '--config', 'pipeline.config.ts', '--cache-dir', p.path('gcd'), '--out', p.path('outpin')]);
  assert.is(pin.code, 0, pin.stderr);
  const modes = [['--max-age', '1s'], ['--max-size', '1B'], ['--max-age', '1s', '--max-size', '1B']];
  for (let round = 0; round < 1; round++) {
    let stop = false;
    let gcs = 0;
    const gcLoop = (async () => {
      while (!stop) {
        const r = await cacheCmd('gcd', 'gc', ...modes[gcs % modes.length]!);
        assert.is(r.code, 0, `gc: ${r.stderr}`);
        gcs++;
      }
    })();
    // --recheck: every item is read (a repository's memo would answer it without a read), so the
    // builds' reads race the collections, and last long enough for several to overlap them.
    const runs = await Promise.all([build('gcd', `outg${round}a`, '--recheck'), build('gcd', `outg${round}b`, '--recheck')]);
    stop = true;
    await gcLoop;
    runs.forEach((r, i) => assert.is(succeeded(r, `round ${round} build ${i}`).version, reference));
    assert.ok(gcs >= 2, `only ${gcs} gc runs overlapped the builds`);
    // With no build running, gc may evict everything unpinned: the cache stays consistent.
    const after = await cacheCmd('gcd', 'gc', '--max-age', '1s');
    assert.is(after.code, 0, after.stderr);
    const v = await cacheCmd('gcd', 'verify');
    assert.ok(v.json?.ok, `verify after round ${round}: ${v.stdout}${v.stderr}`);
  }
});

test('two concurrent trajectory builds on one cache send each LLM call once', async () => {
  const server = await startLlmServer({ answer: jsonAnswer, delayMs: 150 });
  try {
    const t = project({ sources: [join(FIXTURES, 'calc'), join(FIXTURES, 'notes')], llm: { provider: 'openai', endpoint: { baseURL: server.url, model: 'test-model', timeoutMs: 5000, maxRetries: 2, maxConcurrency: 4 } } });
    const [a, b] = await Promise.all([t.build(), t.build()]);
    const sa = ok(a);
    const sb = ok(b);
    assert.is(sa.version, sb.version);
    const sent = successes(server.log);
    // Every call of one build (calc and notes: plan calls plus each file's turns, issue 14) is
    // sent once in all, whichever build sent it.
    const distinct = new Set(sent).size;
    assert.is(distinct, sa.llm.calls, 'each distinct request is one call of the build');
    assert.ok(distinct >= 9, `${distinct} calls: at least 1 plan + 1 turn per file for each repository`);
    assert.is(sent.length, distinct, `${sent.length} requests for ${distinct} distinct calls`);
    assert.is(sa.llm.requests + sb.llm.requests, distinct);
  } finally {
    await server.close();
  }
});

test.after(() => {
  p.cleanup();
  removeProjects();
});

test.run();
