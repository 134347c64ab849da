/**
 * Our Parquet encoder (stages/shard/parquet.ts) against independent readers: DuckDB, arrow-rs
 * (parquet-wasm's reader) and, where the Python found has them, pyarrow and Hugging Face
 * `datasets`. Rows are compared with the Arrow IPC file of the same rows, value for value, on
 * the cases the encoder has to get right: empty lists (definition level 0), rows and strings
 * larger than a data page (one page), many pages per column chunk, several row groups, every
 * codec, an empty shard, both layouts.
 */
import * as arrow from 'apache-arrow';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pw from 'parquet-wasm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PackedSequence, TokenizedDoc } from '../stages/shard/layout.ts';
import { PAGE_BYTES } from '../stages/shard/parquet.ts';
import { encodeStruct } from '../stages/shard/thrift.ts';
import { openShardWriter, type ShardWriterOptions } from '../stages/shard/writers.ts';
import { encodeRowGroup, ShardStore, type RowGroupRef } from '../stages/shard/files.ts';
import type { DocSlice } from '../stages/shard/plan.ts';
import type { TaskPool } from '../src/pool.ts';
import type { ContentHash } from '../src/hash.ts';
import { createHash } from 'node:crypto';
import { parquetSchemaOf } from '../stages/shard/parquet-arrow.ts';
import { DOCUMENTS_PARQUET } from '../stages/shard/documents-parquet.ts';
import { documentsLayout } from '../stages/shard/layout.ts';
import { queryShards, sqlPath } from './helpers/duckdb.ts';

const dir = mkdtempSync(join(tmpdir(), 'retrace-pq-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const BIG_IDS = (PAGE_BYTES / 4) * 1.5; // one row of ids over a data page
const docs: TokenizedDoc[] = Array.from({ length: 120 }, (_, d) => {
  const n = d === 3 || d === 4 ? 0 : d === 40 ? BIG_IDS : 1 + ((d * 53) % 3000);
  const inputIds = new Int32Array(n);
  for (let i = 0; i < n; i++) inputIds[i] = (d * 7919 + i * 104729) % 128256;
  const lossMask = Uint8Array.from(inputIds, (_, i) => (i % 5 === 0 ? 0 : 1));
  const text = d === 41 ? 'é'.repeat(PAGE_BYTES) : d === 42 ? '\uFEFF// starts with a BOM\n' : `// fichier ${d} ✓ 🙂\n${'const x = 1;\n'.repeat(d)}`;
  return { id: `repo-${d % 4}/file-${d}.js`, repo: `repo-${d % 4}`, license: d % 2 ? 'MIT' : 'NOASSERTION', text, inputIds, lossMask };
});
const seqs: PackedSequence[] = [
  { inputIds: Int32Array.of(128000, 5, 6, 128001), lossMask: Uint8Array.of(0, 1, 1, 1), docIds: ['a', 'b'], docLengths: Int32Array.of(3, 1) },
  { inputIds: new Int32Array(0), lossMask: new Uint8Array(0), docIds: [], docLengths: new Int32Array(0) },
  { inputIds: Int32Array.of(7), lossMask: Uint8Array.of(1), docIds: ['ü'], docLengths: Int32Array.of(1) },
];

async function write(opts: ShardWriterOptions<'documents'> | ShardWriterOptions<'packed'>, rows: unknown[]): Promise<string> {
  const w = await openShardWriter(opts as ShardWriterOptions<'documents'>);
  await w.append(rows as TokenizedDoc[]);
  return (await w.close()).file;
}

/** Every row of a table as plain values (lists as arrays). */
function rowsOf(t: arrow.Table): unknown[][] {
  const cols = t.schema.fields.map((f) => t.getChild(f.name)!);
  return Array.from({ length: t.numRows }, (_, r) =>
    cols.map((c) => {
      const v = c.get(r);
      return v && typeof v === 'object' && 'toArray' in v ? Array.from(v.toArray() as ArrayLike<unknown>) : v;
    }),
  );
}

const schemaOf = (t: arrow.Table) => ({
  fields: t.schema.fields.map((f) => `${f.name}: ${f.type} nullable=${f.nullable} ${arrow.DataType.isList(f.type) ? `item=${f.type.children[0]!.name}/${f.type.children[0]!.nullable}` : ''}`),
  metadata: Object.fromEntries(t.schema.metadata),
});

/** A Python that can `import mod`, or undefined (Debian 12 packages neither pyarrow nor datasets). */
function python(mod: string): string | undefined {
  for (const py of [process.env.RETRACE_TEST_PYTHON, 'python3'].filter(Boolean) as string[]) {
    if (spawnSync(py, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

for (const compression of ['zstd', 'snappy', 'none'] as const) {
  test(`documents, ${compression}: arrow-rs and DuckDB read back exactly the rows of the Arrow IPC file`, async () => {
    const pq = await write({ file: join(dir, `docs-${compression}.parquet`), layout: 'documents', format: 'parquet', compression, rowGroupRows: 32 }, docs);
    const ipc = await write({ file: join(dir, `docs-${compression}.arrow`), layout: 'documents', format: 'arrow', rowGroupRows: 32 }, docs);
    const want = arrow.tableFromIPC(readFileSync(ipc));
    const got = arrow.tableFromIPC(pw.readParquet(readFileSync(pq)).intoIPCStream());
    assert.equal(schemaOf(got), schemaOf(want));
    assert.equal(schemaOf(got).metadata, { 'retrace.layout': 'documents' });
    assert.is(got.numRows, docs.length);
    assert.equal(rowsOf(got), rowsOf(want));

    const meta = await queryShards(
      `SELECT row_group_id::INT AS g, path_in_schema AS path, compression, encodings, dictionary_page_offset AS dict, stats_min_value AS min
         FROM parquet_metadata(${sqlPath(pq)}) ORDER BY row_group_id, column_id`,
    );
    assert.is(new Set(meta.map((m) => m.g)).size, 4, '120 rows in row groups of 32');
    const codec = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' }[compression];
    for (const m of meta) {
      assert.is(m.compression, codec);
      assert.is(m.dict, null, 'no dictionary page');
      assert.is(m.min, null, 'no statistics');
      assert.is(m.encodings, String(m.path).includes(', list, ') ? 'PLAIN, RLE' : 'PLAIN', String(m.path));
    }
    const [d] = await queryShards(
      `SELECT sum(len(input_ids))::INT AS ids, sum(list_sum(loss_mask))::INT AS trained, count(*) FILTER (WHERE len(input_ids) = 0)::INT AS empty,
              max(length(text))::INT AS longest FROM ${sqlPath(pq)}`,
    );
    const ids = docs.reduce((n, x) => n + x.inputIds.length, 0);
    const trained = docs.reduce((n, x) => n + x.lossMask.reduce((a, b) => a + b, 0), 0);
    assert.equal(d, { ids, trained, empty: 2, longest: PAGE_BYTES });
  });
}

test('the encoder cuts pages at ~PAGE_BYTES of values, and a larger row is one page', async () => {
  const file = join(dir, 'docs-zstd.parquet');
  // The big row (1.5 pages of ids) stays one page; DuckDB reads it whole and every level counted.
  const [big] = await queryShards(`SELECT len(input_ids)::INT AS n, input_ids[${BIG_IDS}] AS last FROM ${sqlPath(file)} WHERE id = 'repo-0/file-40.js'`);
  assert.equal(big, { n: BIG_IDS, last: docs[40]!.inputIds[BIG_IDS - 1] });
  const [chunk] = await queryShards(
    `SELECT total_uncompressed_size::INT AS size, num_values::INT AS n FROM parquet_metadata(${sqlPath(file)}) WHERE row_group_id = 1 AND path_in_schema = 'input_ids, list, item'`,
  );
  assert.ok((chunk!.size as number) > 1.5 * PAGE_BYTES, `row group 1 holds the big row: ${chunk!.size} bytes`);
  assert.is(chunk!.n, docs.slice(32, 64).reduce((n, x) => n + Math.max(1, x.inputIds.length), 0), 'one level per id, one per empty list');
});

test('packed layout with an empty row: list<utf8> and list<int32> levels', async () => {
  const pq = await write({ file: join(dir, 'packed.parquet'), layout: 'packed', format: 'parquet' }, seqs);
  const ipc = await write({ file: join(dir, 'packed.arrow'), layout: 'packed', format: 'arrow' }, seqs);
  const got = arrow.tableFromIPC(pw.readParquet(readFileSync(pq)).intoIPCStream());
  const want = arrow.tableFromIPC(readFileSync(ipc));
  assert.equal(schemaOf(got), schemaOf(want));
  assert.equal(rowsOf(got), rowsOf(want));
  const rows = await queryShards(`SELECT doc_ids, len(input_ids)::INT AS n, num_tokens FROM ${sqlPath(pq)}`);
  assert.equal(rows, [
    { doc_ids: ['a', 'b'], n: 4, num_tokens: 4 },
    { doc_ids: [], n: 0, num_tokens: 0 },
    { doc_ids: ['ü'], n: 1, num_tokens: 1 },
  ]);
});

test('empty shard: schema and ARROW:schema, no row group', async () => {
  const pq = await write({ file: join(dir, 'empty.parquet'), layout: 'documents', format: 'parquet' }, []);
  const got = arrow.tableFromIPC(pw.readParquet(readFileSync(pq)).intoIPCStream());
  assert.is(got.numRows, 0);
  assert.equal(schemaOf(got).metadata, { 'retrace.layout': 'documents' });
  const [m] = await queryShards(`SELECT num_rows::INT AS rows, num_row_groups::INT AS groups, created_by FROM parquet_file_metadata(${sqlPath(pq)})`);
  assert.equal(m, { rows: 0, groups: 0, created_by: 'retrace shard writer version 1.0.0' });
});

test("the documents layout's Parquet schema as data (no apache-arrow in row-group workers) is layout.ts's", () => {
  assert.equal(parquetSchemaOf(documentsLayout.schema, 'test'), DOCUMENTS_PARQUET);
});

test('a file laid out from cached row groups (the shard stage) is the bytes the writer writes whole', async () => {
  // The row-group task and the store's layout, in this thread: a pool that runs the task module here.
  const pool: TaskPool = { threads: 1, run: async <T>(url: string, payload: unknown) => ((await import(url)).default(payload) as Promise<T>), close: async () => undefined };
  const blobs = new Map<string, Uint8Array>();
  const refs: RowGroupRef[] = [];
  const slices: DocSlice[] = docs.map((d) => {
    const h = (kind: string, bytes: Uint8Array) => {
      const key = `${kind}:${d.id}`;
      blobs.set(key, bytes);
      return key as ContentHash;
    };
    const ids = new Uint8Array(d.inputIds.buffer, d.inputIds.byteOffset, d.inputIds.byteLength);
    return { doc: { id: d.id, repo: d.repo, license: d.license, text: h('t', Buffer.from(d.text)), ids: h('i', ids), mask: h('m', d.lossMask), tokens: d.inputIds.length, trained: 0 }, start: 0, end: d.inputIds.length };
  });
  const read = async (h: ContentHash) => blobs.get(h)!;
  // Encoded last row group first: a row group's bytes do not depend on where it lands.
  const encoded = [];
  for (const a of [96, 64, 32, 0]) encoded.unshift(await encodeRowGroup(pool, 'test', slices.slice(a, a + 32), 'zstd', read));
  encoded.forEach((r, k) => {
    blobs.set(`g${k}`, r.bytes);
    refs.push({ rows: r.rows, tokens: r.tokens, chunks: r.chunks, blob: `g${k}` as ContentHash, bytes: r.bytes.byteLength });
  });
  const store = new ShardStore(join(dir, 'store'));
  const f = await store.assemble('test', refs, 'zstd', read);
  const whole = readFileSync(join(dir, 'docs-zstd.parquet'));
  assert.is(f.rows, docs.length);
  assert.is(f.tokens, docs.reduce((n, d) => n + d.inputIds.length, 0));
  assert.is(f.sha256, createHash('sha256').update(whole).digest('hex'));
  assert.ok(readFileSync(store.pathOf(f.sha256, 'parquet')).equals(whole), 'byte for byte the writer\'s file of row groups of 32');
  // An empty shard: no row group, the same file as the writer's.
  const empty = await store.assemble('empty', [], 'zstd', read);
  assert.ok(readFileSync(store.pathOf(empty.sha256, 'parquet')).equals(readFileSync(join(dir, 'empty.parquet'))), 'empty shard');
});

test('pyarrow and Hugging Face datasets read the shards (where the Python found has them)', () => {
  const py = python('pyarrow');
  if (!py) {
    console.log('  note: no Python with pyarrow here (Debian 12 packages none; set RETRACE_TEST_PYTHON to one that has it): pyarrow and datasets were not run, DuckDB and arrow-rs were');
    return;
  }
  const hasDatasets = spawnSync(py, ['-c', 'import datasets'], { stdio: 'ignore' }).status === 0;
  const script = `
import sys, pyarrow.parquet as pq, pyarrow.ipc as ipc
d = sys.argv[1]
for name in ['docs-zstd', 'docs-snappy', 'docs-none', 'packed']:
    got = pq.read_table(f'{d}/{name}.parquet')
    want = ipc.open_file(f'{d}/{name}.arrow').read_all()
    assert got.schema.equals(want.schema, check_metadata=True), (name, got.schema, want.schema)
    assert got.equals(want), name
print('pyarrow ok')
if ${hasDatasets ? 'True' : 'False'}:
    import datasets
    ds = datasets.load_dataset('parquet', data_files=f'{d}/docs-zstd.parquet', split='train', cache_dir=f'{d}/hf-cache')
    want = ipc.open_file(f'{d}/docs-zstd.arrow').read_all()
    assert ds.num_rows == want.num_rows
    assert [ds[i]['input_ids'] for i in (0, 3, 40, 119)] == [want.column('input_ids')[i].as_py() for i in (0, 3, 40, 119)]
    assert str(ds.features['loss_mask']) == "List(Value('uint8'))", ds.features
    print('datasets ok')
`;
  const r = spawnSync(py, ['-c', script, dir], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /pyarrow ok/);
  if (hasDatasets) assert.match(r.stdout, /datasets ok/);
  else console.log('  note: `datasets` is not installed for this Python: only pyarrow was run');
});

test('thrift compact protocol: field deltas, zigzag varints, strings, lists, booleans', () => {
  const bytes = encodeStruct({
    1: { i32: 1 },
    2: { i64: -3 },
    4: { string: 'ab' },
    5: { list: { i32: Array.from({ length: 16 }, (_, i) => i) } },
    6: { bool: true },
    30: { struct: { 1: { i8: 8 }, 2: { bool: false } } },
  });
  assert.equal(Array.from(bytes), [
    0x15, 2, // field 1 i32: zigzag(1) = 2
    0x16, 5, // field 2 i64: zigzag(-3) = 5
    0x28, 2, 0x61, 0x62, // field 4 binary, delta 2
    0x19, 0xf5, 16, ...Array.from({ length: 16 }, (_, i) => 2 * i), // field 5 list of 16 i32: long form
    0x11, // field 6 bool true, value in the type nibble
    0x0c, 60, 0x13, 8, 0x12, 0, // field 30: delta > 15, so type then zigzag(30); struct {i8 8, bool false}
    0, // end
  ]);
});

test.run();
