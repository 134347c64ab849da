/**
 * Llama-3 tokenization throughput on the embedded corpus (every .js/.mjs/.cjs file of a few
 * installed packages, repeated to >= 5 MB): ours against the tiktoken-WASM reference on one core
 * in the same run, then ours in 1 and 2 piscina workers. Run: node --import tsx bench/tokenize.ts
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { TOKENIZE_YOUNG_GENERATION_MB } from '../stages/tokenize/stage.ts';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import { loadReferenceTokenizer } from '../test/helpers/reference-tokenizer.ts';
import { corpusFiles } from '../test/fixtures/tokenizer/corpus.ts';

const MB = 1024 * 1024;
const rate = (tokens: number, ms: number): string => `${(tokens / ms / 1000).toFixed(2)}M tokens/s`;

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
