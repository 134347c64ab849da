/**
 * `retrace report` / `dataset head` cost on a built version: reading the shards back
 * (parquet-wasm -> Arrow), decoding tokens and writing the page.
 *   node --import tsx bench/report.ts [datasets-dir] [version]   (default: datasets latest)
 */
import { findVersion } from '../src/dataset.ts';
import { buildReport } from '../stages/report/index.ts';
import { headRows } from '../stages/view/head.ts';
import { readRows } from '../stages/view/rows.ts';

const dir = process.argv[2] ?? 'datasets';
const v = findVersion(dir, process.argv[3] ?? 'latest');
const tokens = v.manifest.shards.reduce((n, s) => n + s.tokens, 0);
const bytes = v.manifest.shards.reduce((n, s) => n + s.bytes, 0);
let t = performance.now();
const rows = await readRows(v);
const read = performance.now() - t;
t = performance.now();
const head = await headRows(v, rows.length);
const decode = performance.now() - t;
t = performance.now();
const r = await buildReport(v);
const report = performance.now() - t;
console.log(`${v.name}/${v.version}: ${rows.length} rows, ${tokens} tokens, ${(bytes / 2 ** 20).toFixed(1)} MiB of shards`);
console.log(`  read all rows      ${read.toFixed(0)} ms (${(bytes / 2 ** 20 / (read / 1000)).toFixed(1)} MiB/s)`);
console.log(`  decode all rows    ${decode.toFixed(0)} ms (${((tokens / (decode / 1000)) / 1e6).toFixed(2)} M tokens/s, ${head.length} rows)`);
console.log(`  report             ${report.toFixed(0)} ms, ${(r.html.length / 1024).toFixed(0)} KiB, ${r.figures.length} figures`);
