/**
 * Output path throughput, on the embedded corpus (one document per package: its .js/.mjs/.cjs
 * files concatenated, repeated 4x to get past start-up costs): tokenize in the build's worker
 * pool (2 threads), pack into 8192-token sequences, write shards; tokens/s end to end for
 * Parquet (zstd) and Arrow IPC, and the writers' MB/s of payload in the same run.
 *
 *   node --import tsx bench/e2e-output.ts
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PiscinaPool } from '../src/pool.ts';
import { corpusFiles, CORPUS_PACKAGES } from '../test/fixtures/tokenizer/corpus.ts';
import { TOKENIZE_YOUNG_GENERATION_MB } from '../stages/tokenize/stage.ts';
import type { TokenizeResult } from '../stages/tokenize/task.ts';
import { SequencePacker } from '../stages/shard/pack.ts';
import { openShardWriter } from '../stages/shard/writers.ts';
import type { PackedSequence, TokenizedDoc } from '../stages/shard/layout.ts';

const TASK = new URL('../stages/tokenize/task.ts', import.meta.url).href;
const files = corpusFiles();
const texts = CORPUS_PACKAGES.map((pkg) =>
  files.filter((f) => f.path.includes(`/node_modules/${pkg}/`)).map((f) => `--- file: ${f.path} ---\n${f.text}`).join('\n'),
);
const docs = [0, 1, 2, 3].flatMap((rep) => texts.map((text, i) => ({ id: `${CORPUS_PACKAGES[i]}-${rep}`, text })));
const enc = new TextEncoder();
const dir = mkdtempSync(join(tmpdir(), 'retrace-e2e-bench-'));
const pool = new PiscinaPool(2);

async function tokenizeAll(): Promise<TokenizedDoc[]> {
  return Promise.all(
    docs.map(async (d) => {
      const text = enc.encode(d.text);
      const r = await pool.run<TokenizeResult>(TASK, { text, masked: [], bos: 128000, eos: 128001 }, { transfer: [text.buffer], youngGenerationMb: TOKENIZE_YOUNG_GENERATION_MB });
      return { id: d.id, repo: d.id, license: 'MIT', text: d.text, inputIds: r.ids, lossMask: r.mask };
    }),
  );
}

try {
  await tokenizeAll(); // warm-up: threads start and load the vocabulary
  for (const format of ['parquet', 'arrow'] as const) {
    const t0 = performance.now();
    const tokenized = await tokenizeAll();
    const t1 = performance.now();
    const packer = new SequencePacker({ seqLen: 8192, lastPartial: 'pad', padId: 128001 });
    const seqs: PackedSequence[] = [];
    for (const d of tokenized) {
      packer.push(d);
      for (let s = packer.pull(); s; s = packer.pull()) seqs.push(s);
    }
    packer.finish();
    for (let s = packer.pull(); s; s = packer.pull()) seqs.push(s);
    const t2 = performance.now();
    const file = join(dir, `packed.${format}`);
    const w = await openShardWriter(format === 'parquet' ? { file, layout: 'packed', format, compression: 'zstd' } : { file, layout: 'packed', format });
    await w.append(seqs);
    const info = await w.close();
    const t3 = performance.now();
    const tokens = tokenized.reduce((n, d) => n + d.inputIds.length, 0);
    const payloadMB = (seqs.length * 8192 * 5) / 1e6;
    console.log(
      `${format.padEnd(7)} ${docs.length} docs, ${(tokens / 1e6).toFixed(2)}M tokens -> ${seqs.length} sequences: ` +
        `tokenize ${((t1 - t0) / 1000).toFixed(2)} s, pack ${((t2 - t1) / 1000).toFixed(2)} s, write ${((t3 - t2) / 1000).toFixed(2)} s ` +
        `(${(payloadMB / ((t3 - t2) / 1000)).toFixed(0)} MB/s of payload, file ${(statSync(info.file).size / 1e6).toFixed(1)} MB); ` +
        `end to end ${(tokens / ((t3 - t0) / 1000) / 1e6).toFixed(2)}M tokens/s`,
    );
  }
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
