/**
 * Llama-3 tokenization throughput on the embedded corpus (every .js/.mjs/.cjs file of a few
 * installed packages, repeated to >= 5 MB): ours against the tiktoken-WASM reference on one core
 * in the same run, then ours in 1 and 2 piscina workers; then one ~10 MB document through the
 * build's pool (src/pool.ts, 2 threads) as one task and in pieces (stages/tokenize/pieces.ts):
 * wall and CPU time (all threads), cores used, load average.
 *
 *   node --import tsx bench/tokenize.ts          all of it
 *   node --import tsx bench/tokenize.ts pieces   only the one-document part
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { TOKENIZE_YOUNG_GENERATION_MB } from '../stages/tokenize/stage.ts';
import { PIECE_BYTES, planCuts, tokenizePiecewise } from '../stages/tokenize/pieces.ts';
import type { TokenizeResult } from '../stages/tokenize/task.ts';
import { PiscinaPool } from '../src/pool.ts';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import { loadReferenceTokenizer } from '../test/helpers/reference-tokenizer.ts';
import { corpusFiles } from '../test/fixtures/tokenizer/corpus.ts';

const MB = 1024 * 1024;
const rate = (tokens: number, ms: number): string => `${(tokens / ms / 1000).toFixed(2)}M tokens/s`;
const onlyPieces = process.argv[2] === 'pieces';

async function throughput(): Promise<void> {
  const t0 = performance.now();
  const ours = await loadLlama3Tokenizer();
  const loadMs = performance.now() - t0;
  console.log(`load: ${loadMs.toFixed(0)} ms, RSS after load ${(process.memoryUsage().rss / MB).toFixed(0)} MB`);

  const files = corpusFiles().map((f) => f.text);
  const once = files.join('\n');
  const docs: string[] = [];
  for (let size = 0; size < 5 * MB; size += once.length) docs.push(...files);
  const text = docs.join('\n');
  console.log(`corpus: ${files.length} files, ${(once.length / MB).toFixed(2)} MB; repeated: ${(text.length / MB).toFixed(2)} MB, ${docs.length} docs`);

  function time<T>(f: () => T): [T, number] {
    const start = performance.now();
    const result = f();
    return [result, performance.now() - start];
  }

  // Ours first, in a fresh process, so its first pass starts with an empty piece cache.
  const [first, firstMs] = time(() => ours.encodeOrdinary(text));
  const [, againMs] = time(() => ours.encodeOrdinary(text));
  const reference = await loadReferenceTokenizer();
  const [want, refMs] = time(() => reference.encodeOrdinary(text));
  reference.free();
  const same = first.length === want.length && first.every((id, i) => id === want[i]);
  console.log(`1 core, ${want.length} tokens, identical ids: ${same}`);
  console.log(`  ours, first pass (cold cache): ${rate(first.length, firstMs)}`);
  console.log(`  ours, second pass:             ${rate(first.length, againMs)}`);
  console.log(`  reference (tiktoken WASM):     ${rate(want.length, refMs)}  -> ours/reference ${(refMs / firstMs).toFixed(2)}x cold, ${(refMs / againMs).toFixed(2)}x warm`);

  async function pooled(threads: number): Promise<number> {
    const pool = new Piscina({
      filename: fileURLToPath(new URL('../stages/tokenize/worker.ts', import.meta.url)),
      minThreads: threads,
      maxThreads: threads,
      // As the build's pool runs tokenization (src/pool.ts): fewer scavenges, better scaling.
      resourceLimits: { maxYoungGenerationSizeMb: TOKENIZE_YOUNG_GENERATION_MB },
    });
    try {
      // Warm-up: every thread loads the tokenizer and sees the corpus once, outside the timing.
      await Promise.all(files.map((doc) => pool.run(doc)));
      // Median of three timed passes: a 2-core machine's timing is noisy.
      const rates: number[] = [];
      for (let pass = 0; pass < 3; pass++) {
        const start = performance.now();
        const results: Int32Array[] = await Promise.all(docs.map((doc) => pool.run(doc)));
        const ms = performance.now() - start;
        rates.push(results.reduce((sum, ids) => sum + ids.length, 0) / ms);
      }
      const median = rates.sort((a, b) => a - b)[1];
      console.log(`  ${threads} worker(s): ${(median / 1000).toFixed(2)}M tokens/s (median of 3 passes)`);
      return median;
    } finally {
      await pool.destroy();
    }
  }

  console.log('piscina, one task per file:');
  const one = await pooled(1);
  const two = await pooled(2);
  console.log(`  2 workers / 1 worker: ${(two / one).toFixed(2)}x`);
}

/** CPU seconds of each thread of this process (Linux /proc; utime + stime at 100 ticks/s). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended between the listing and the read: it did no work in this pass.
    }
  }
  return out;
}

/**
 * One ~10 MB document on the build's pool (2 threads): one task vs pieces. Wall-clock on a
 * loaded machine says little, so it also prints the busiest thread's CPU time: the wall-clock
 * of a pass on an idle machine, whatever the load (the main thread and V8's helpers are counted
 * as threads too, so it is a lower bound on the speed-up).
 */
async function oneDocument(): Promise<void> {
  const files = corpusFiles().map((f) => f.text);
  const parts: string[] = [];
  for (let size = 0; size < 10 * MB; size += files.join('\n').length) parts.push(...files);
  const bytes = new TextEncoder().encode(parts.join('\n'));
  // Trajectory-like masked spans: every other 64 kB.
  const masked: Array<[number, number]> = [];
  for (let a = 0; a < bytes.length; a += 128 * 1024) masked.push([a, Math.min(a + 64 * 1024, bytes.length)]);
  planCuts(bytes);
  const cutStart = performance.now();
  const cuts = planCuts(bytes);
  const cutMs = performance.now() - cutStart;
  console.log(`one document: ${(bytes.length / MB).toFixed(2)} MB, ${cuts.length + 1} pieces of ~${PIECE_BYTES / 1024} KiB (cuts planned in ${cutMs.toFixed(1)} ms on the main thread)`);

  const pool = new PiscinaPool(2);
  const TASK = new URL('../stages/tokenize/task.ts', import.meta.url).href;
  const run = (pieceBytes: number) => tokenizePiecewise(bytes.slice(), masked, 128000, 128001, (task) =>
    pool.run<TokenizeResult>(TASK, task, { transfer: [task.text.buffer], youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB }), pieceBytes);
  try {
    // Warm-up: both threads start, load the vocabulary and see the text once.
    const warm = await run(PIECE_BYTES);
    type Pass = { wall: number; cpu: number; busiest: number; second: number; load: number };
    const passes: Record<'whole' | 'pieces', Pass[]> = { whole: [], pieces: [] };
    let same = true;
    for (let pass = 0; pass < 3; pass++) {
      for (const mode of ['whole', 'pieces'] as const) {
        const threads0 = threadCpu();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await run(mode === 'whole' ? Infinity : PIECE_BYTES);
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const perThread = [...threadCpu()].map(([tid, s]) => s - (threads0.get(tid) ?? 0)).sort((a, b) => b - a);
        passes[mode].push({ wall, cpu: (cpu.user + cpu.system) / 1e6, busiest: perThread[0], second: perThread[1] ?? 0, load: loadavg()[0] });
        same &&= r.ids.length === warm.ids.length && r.ids.every((id, k) => id === warm.ids[k]) && r.mask.every((m, k) => m === warm.mask[k]);
      }
    }
    console.log(`  ${warm.ids.length} tokens; ids and masks identical whole vs pieces: ${same}`);
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[1];
    const m: Record<string, Pass> = {};
    for (const mode of ['whole', 'pieces'] as const) {
      const p = passes[mode];
      m[mode] = { wall: median(p.map((x) => x.wall)) / 1000, cpu: median(p.map((x) => x.cpu)), busiest: median(p.map((x) => x.busiest)), second: median(p.map((x) => x.second)), load: 0 };
      const x = m[mode];
      console.log(`  ${mode.padEnd(6)}: wall ${x.wall.toFixed(2)} s (load average ${p.map((y) => y.load.toFixed(1)).join(' / ')}), CPU ${x.cpu.toFixed(2)} s all threads `
        + `(${(x.cpu / x.wall).toFixed(2)} cores), busiest thread ${x.busiest.toFixed(2)} s, next ${x.second.toFixed(2)} s (medians of 3)`);
    }
    console.log(`  pieces vs whole: wall-clock ${(m.whole.wall / m.pieces.wall).toFixed(2)}x, busiest thread (idle-machine wall-clock) ${(m.whole.busiest / m.pieces.busiest).toFixed(2)}x, `
      + `CPU ${(m.pieces.cpu / m.whole.cpu).toFixed(2)}x`);
  } finally {
    await pool.close();
  }
}

if (!onlyPieces) await throughput();
await oneDocument();
