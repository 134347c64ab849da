/**
 * Shard writer throughput on the same synthetic documents in one run: our Parquet encoder
 * (stages/shard/parquet.ts: zstd, snappy, none) through ShardWriter, the previous writer
 * (parquet-wasm, arrow-rs in WASM, zstd, with the settings it had: no dictionary, no statistics,
 * one row group per batch), the parquetjs-lite candidate (snappy), and Arrow IPC.
 * Payload = UTF-8 text bytes + 4 bytes per input id + 1 byte per loss_mask entry.
 *
 * Prints wall and CPU-time throughput (the machine is shared: CPU time is the figure to compare),
 * and each Parquet writer's CPU-time rate as a share of Arrow IPC's in the same run (issue 17's
 * target: >= 40% for the default, zstd).
 *
 *   node --import tsx bench/shard-write.ts [docs=10000] [fast|full] [rowGroupRows=1024] [repeats=3]
 *   (fast: without parquetjs-lite, ~0.3 MB/s; rowGroupRows: 1024 is output.rowGroupRows' default;
 *   the cases run interleaved `repeats` times and the medians are printed)
 */
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenizedDoc } from '../stages/shard/layout.ts';
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { createWriteStream } from 'node:fs';
import { documentsLayout } from '../stages/shard/layout.ts';
import { DEFAULT_ROW_GROUP_BYTES, openShardWriter, type ShardWriterOptions } from '../stages/shard/writers.ts';

const DOCS = Number(process.argv[2] ?? 10_000);
const ROW_GROUP_ROWS = Number(process.argv[4] ?? 1024);
const REPEATS = Number(process.argv[5] ?? 3);

/** Deterministic code-like documents: ~3.6 KB of text and ~950 ids each on average. */
function makeDocs(count: number): TokenizedDoc[] {
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const words = ['const', 'function', 'return', 'import', 'export', 'if', 'else', 'for', 'await', 'value', 'items', 'length',
    'config', 'stage', '=', '=>', '{', '}', '(', ')', ';', '\n  ', '\n', 'cache', 'key', 'hash', 'résumé', '// note:'];
  return Array.from({ length: count }, (_, d) => {
    const nWords = 200 + Math.floor(rand() * 1000);
    const parts: string[] = [];
    for (let i = 0; i < nWords; i++) parts.push(words[Math.floor(rand() * words.length)]!);
    const text = parts.join(' ');
    const n = Math.max(2, Math.round(text.length / 3.8));
    const inputIds = new Int32Array(n);
    for (let i = 1; i < n - 1; i++) inputIds[i] = Math.floor(rand() * 128000);
    inputIds[0] = 128000;
    inputIds[n - 1] = 128001;
    const lossMask = new Uint8Array(n).fill(1);
    return { id: `repo-${d % 17}/src/file-${d}.ts`, repo: `repo-${d % 17}`, license: 'MIT', text, inputIds, lossMask };
  });
}

const docs = makeDocs(DOCS);
const textBytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
const ids = docs.reduce((n, d) => n + d.inputIds.length, 0);
const payload = textBytes + 5 * ids;
console.log(`${DOCS} docs, row groups of ${ROW_GROUP_ROWS} rows, ${(textBytes / 1e6).toFixed(1)} MB text, ${(ids / 1e6).toFixed(2)}M ids, payload ${(payload / 1e6).toFixed(1)} MB`);

const dir = mkdtempSync(join(tmpdir(), 'retrace-bench-shard-'));
const cpuRate = new Map<string, number>();

async function viaShardWriter(opts: ShardWriterOptions<'documents'>): Promise<void> {
  const writer = await openShardWriter({ ...opts, rowGroupRows: ROW_GROUP_ROWS });
  for (let i = 0; i < docs.length; i += 500) await writer.append(docs.slice(i, i + 500));
  await writer.close();
}

/**
 * The previous Parquet path (up to issue 17): row groups cut as ShardWriter cuts them, each
 * built as an Arrow record batch, handed to parquet-wasm's transformParquetStream as an IPC
 * stream, and the Parquet bytes it emits written to the file.
 */
async function viaParquetWasm(file: string): Promise<void> {
  const props = new pw.WriterPropertiesBuilder()
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pw.EnabledStatistics.None)
    .setWriteBatchSize(8192)
    .setCompression(pw.Compression.ZSTD)
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setMaxRowGroupBytes(1)
    .build();
  const groups: TokenizedDoc[][] = [[]];
  let bytes = 0;
  for (const d of docs) {
    groups.at(-1)!.push(d);
    bytes += documentsLayout.approxBytes(d);
    if (groups.at(-1)!.length >= ROW_GROUP_ROWS || bytes >= DEFAULT_ROW_GROUP_BYTES) {
      groups.push([]);
      bytes = 0;
    }
  }
  let next = 0;
  const input = new ReadableStream<pw.RecordBatch>(
    {
      pull(controller) {
        const group = groups[next++];
        if (!group || group.length === 0) return controller.close();
        const ipc = arrow.tableToIPC(new arrow.Table([documentsLayout.toBatch(group)]), 'stream');
        const table = pw.Table.fromIPCStream(ipc);
        controller.enqueue(table.recordBatch(0)!);
        table.free();
      },
    },
    { highWaterMark: 0 },
  );
  const out = createWriteStream(file);
  for await (const chunk of await pw.transformParquetStream(input, props)) {
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** The design card's parquetjs-lite (no types), with `repeated: true` INT32 lists. */
async function viaParquetjsLite(file: string): Promise<void> {
  const parquet = createRequire(import.meta.url)('parquetjs-lite');
  const schema = new parquet.ParquetSchema({
    id: { type: 'UTF8', compression: 'SNAPPY' },
    repo: { type: 'UTF8', compression: 'SNAPPY' },
    text: { type: 'UTF8', compression: 'SNAPPY' },
    input_ids: { type: 'INT32', repeated: true, compression: 'SNAPPY' },
    loss_mask: { type: 'INT32', repeated: true, compression: 'SNAPPY' },
    num_tokens: { type: 'INT32', compression: 'SNAPPY' },
  });
  const writer = await parquet.ParquetWriter.openFile(schema, file);
  for (const d of docs) {
    await writer.appendRow({
      id: d.id, repo: d.repo, text: d.text,
      input_ids: Array.from(d.inputIds), loss_mask: Array.from(d.lossMask), num_tokens: d.inputIds.length,
    });
  }
  await writer.close();
}

const cases: [string, (file: string) => Promise<void>][] = [
  ['parquet zstd', (file) => viaShardWriter({ file, layout: 'documents', format: 'parquet', compression: 'zstd' })],
  ['parquet snappy', (file) => viaShardWriter({ file, layout: 'documents', format: 'parquet', compression: 'snappy' })],
  ['parquet none', (file) => viaShardWriter({ file, layout: 'documents', format: 'parquet', compression: 'none' })],
  ['parquet-wasm zstd (old)', viaParquetWasm],
  ['parquetjs-lite snappy', viaParquetjsLite],
  ['arrow ipc file', (file) => viaShardWriter({ file, layout: 'documents', format: 'arrow' })],
];

/** Median of a non-empty list. */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

try {
  // Cases interleaved, REPEATS rounds (parquetjs-lite once: it is slow), medians reported, so a
  // burst of load on the shared machine does not land on one case only.
  const runs = new Map<string, { wall: number[]; cpu: number[]; size: number }>();
  for (let round = 0; round < REPEATS; round++) {
    for (const [name, run] of cases) {
      if (name.startsWith('parquetjs-lite') && (process.argv[3] === 'fast' || round > 0)) continue;
      const file = join(dir, `${name.replaceAll(' ', '-')}.out`);
      const start = performance.now();
      const cpu0 = process.cpuUsage();
      await run(file);
      const s = (performance.now() - start) / 1000;
      const c = process.cpuUsage(cpu0);
      const r = runs.get(name) ?? { wall: [], cpu: [], size: 0 };
      r.wall.push(s);
      r.cpu.push((c.user + c.system) / 1e6);
      r.size = statSync(file).size;
      runs.set(name, r);
      rmSync(file);
    }
  }
  for (const [name, r] of runs) {
    const s = median(r.wall);
    const cpuS = median(r.cpu);
    cpuRate.set(name, payload / 1e6 / cpuS);
    console.log(
      `${name.padEnd(24)} ${(payload / 1e6 / s).toFixed(1).padStart(6)} MB/s wall  ${(payload / 1e6 / cpuS).toFixed(1).padStart(6)} MB/s cpu  ` +
        `${Math.round(DOCS / s).toString().padStart(6)} rows/s  ${s.toFixed(2)} s  file ${(r.size / 1e6).toFixed(1)} MB  ` +
        `(cpu s of each run: ${r.cpu.map((x) => x.toFixed(2)).join(' ')})`,
    );
  }
  const arrowRate = cpuRate.get('arrow ipc file')!;
  for (const name of ['parquet zstd', 'parquet snappy', 'parquet none', 'parquet-wasm zstd (old)']) {
    console.log(`${name} / arrow ipc (cpu): ${((100 * cpuRate.get(name)!) / arrowRate).toFixed(0)}%`);
  }
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
