import * as arrow from 'apache-arrow';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TokenizedDoc } from '../stages/shard/layout.ts';
import { packDocuments } from '../stages/shard/pack.ts';
import { openShardWriter, type ShardWriterOptions } from '../stages/shard/writers.ts';
import { queryShards, readShard, sqlPath } from './helpers/duckdb.ts';

const dir = mkdtempSync(join(tmpdir(), 'retrace-shard-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic documents: ids span the whole Llama-3 vocabulary (BOS 128000, EOS 128001). */
function makeDocs(count: number): TokenizedDoc[] {
  return Array.from({ length: count }, (_, d) => {
    const n = 2 + ((d * 37) % 50);
    const inputIds = new Int32Array(n);
    for (let i = 1; i < n - 1; i++) inputIds[i] = (d * 7919 + i * 104729) % 128256;
    inputIds[0] = 128000;
    inputIds[n - 1] = 128001;
    const lossMask = Uint8Array.from(inputIds, (_, i) => (i === 0 ? 0 : 1));
    return { id: `repo-${d % 3}/file-${d}.js`, repo: `repo-${d % 3}`, license: 'MIT', text: `// fichier ${d} ✓\nconst x = ${d};\n`, inputIds, lossMask };
  });
}

const DOCS = makeDocs(250);
const TOKENS = DOCS.reduce((n, d) => n + d.inputIds.length, 0);

async function write<L extends 'documents' | 'packed'>(opts: ShardWriterOptions<L>, rows: unknown[], chunk: number) {
  const writer = await openShardWriter(opts);
  for (let i = 0; i < rows.length; i += chunk) await writer.append(rows.slice(i, i + chunk) as never);
  return writer.close();
}

test('parquet documents shard: DuckDB reads the rows, types, token counts and ids', async () => {
  const file = join(dir, 'docs.parquet');
  const info = await write({ file, layout: 'documents', format: 'parquet', rowGroupRows: 64 }, DOCS, 100);
  assert.equal({ rows: info.rows, tokens: info.tokens, format: info.format }, { rows: 250, tokens: TOKENS, format: 'parquet' });
  const bytes = readFileSync(file);
  assert.is(info.bytes, bytes.length);
  assert.is(info.sha256, createHash('sha256').update(bytes).digest('hex'));

  const types = Object.fromEntries((await queryShards(`DESCRIBE SELECT * FROM ${sqlPath(file)}`)).map((r) => [r.column_name, r.column_type]));
  assert.equal(types, { id: 'VARCHAR', repo: 'VARCHAR', license: 'VARCHAR', text: 'VARCHAR', input_ids: 'INTEGER[]', loss_mask: 'UTINYINT[]', num_tokens: 'INTEGER' });

  const [stats] = await queryShards(
    `SELECT count(*)::INT AS n, sum(num_tokens)::INT AS tokens, sum(len(input_ids))::INT AS ids, sum(len(loss_mask))::INT AS masks,
            max(list_max(input_ids)) AS max_id FROM ${sqlPath(file)}`,
  );
  const maxId = Math.max(...DOCS.map((d) => Math.max(...d.inputIds)));
  assert.ok(maxId > 128001, 'fixture has ids above the special tokens');
  assert.equal(stats, { n: 250, tokens: TOKENS, ids: TOKENS, masks: TOKENS, max_id: maxId });

  const rows = await readShard(file);
  assert.equal(rows.map((r) => r.id), DOCS.map((d) => d.id));
  assert.equal(rows[7]!.text, DOCS[7]!.text);
  assert.equal(rows[7]!.input_ids, Array.from(DOCS[7]!.inputIds));
  assert.equal(rows[7]!.loss_mask, Array.from(DOCS[7]!.lossMask));
  assert.ok(rows.every((r, i) => r.input_ids.join() === DOCS[i]!.inputIds.join()));

  // one row group per 64 rows, as configured
  const groups = await queryShards(`SELECT DISTINCT row_group_id, row_group_num_rows::INT AS n FROM parquet_metadata(${sqlPath(file)}) ORDER BY 1`);
  assert.equal(groups.map((g) => g.n), [64, 64, 64, 58]);
});

test('parquet packed shard: sequences of seqLen with doc_ids and doc_lengths', async () => {
  const file = join(dir, 'packed.parquet');
  const seqs = [...packDocuments(DOCS, { seqLen: 128, lastPartial: 'pad', padId: 128001 })];
  const info = await write({ file, layout: 'packed', format: 'parquet', compression: 'snappy' }, seqs, 7);
  assert.is(info.tokens, seqs.length * 128);
  const types = (await queryShards(`DESCRIBE SELECT * FROM ${sqlPath(file)}`)).map((r) => `${r.column_name} ${r.column_type}`);
  assert.equal(types, ['input_ids INTEGER[]', 'loss_mask UTINYINT[]', 'doc_ids VARCHAR[]', 'doc_lengths INTEGER[]', 'num_tokens INTEGER']);
  const [check] = await queryShards(
    `SELECT count(*)::INT AS n, bool_and(len(input_ids) = 128 AND num_tokens = 128 AND list_sum(doc_lengths) = 128
              AND len(doc_ids) = len(doc_lengths)) AS ok FROM ${sqlPath(file)}`,
  );
  assert.equal(check, { n: seqs.length, ok: true });
  const rows = await readShard(file);
  const ids = rows.flatMap((r) => r.input_ids).slice(0, TOKENS);
  assert.equal(ids, DOCS.flatMap((d) => Array.from(d.inputIds)));
  assert.equal(rows.at(-1)!.doc_ids?.at(-1), '');
});

for (const format of ['parquet', 'arrow'] as const) {
  test(`${format}: byte-identical output whatever the append chunking`, async () => {
    const a = await write({ file: join(dir, `det-a.${format}`), layout: 'documents', format, rowGroupRows: 50 }, DOCS, 1);
    const b = await write({ file: join(dir, `det-b.${format}`), layout: 'documents', format, rowGroupRows: 50 }, DOCS, 97);
    const c = await write({ file: join(dir, `det-c.${format}`), layout: 'documents', format, rowGroupRows: 50 }, DOCS, 250);
    assert.is(a.sha256, b.sha256);
    assert.is(a.sha256, c.sha256);
    assert.ok(readFileSync(a.file).equals(readFileSync(c.file)));
    // and different rows give a different file
    const d = await write({ file: join(dir, `det-d.${format}`), layout: 'documents', format, rowGroupRows: 50 }, DOCS.slice(1), 250);
    assert.is.not(d.sha256, a.sha256);
  });
}

test('parquet: byte-size rule cuts row groups deterministically', async () => {
  const opts = { layout: 'documents', format: 'parquet', rowGroupBytes: 4000 } as const;
  const a = await write({ ...opts, file: join(dir, 'bytes-a.parquet') }, DOCS, 3);
  const b = await write({ ...opts, file: join(dir, 'bytes-b.parquet') }, DOCS, 250);
  assert.is(a.sha256, b.sha256);
  const [g] = await queryShards(`SELECT count(DISTINCT row_group_id)::INT AS n FROM parquet_metadata(${sqlPath(a.file)})`);
  assert.ok((g!.n as number) > 5, `several row groups, got ${g!.n}`);
});

test('arrow IPC file: apache-arrow reads schema, rows and ids back', async () => {
  const file = join(dir, 'docs.arrow');
  const info = await write({ file, layout: 'documents', format: 'arrow', rowGroupRows: 100 }, DOCS, 33);
  assert.equal({ rows: info.rows, tokens: info.tokens, format: info.format }, { rows: 250, tokens: TOKENS, format: 'arrow' });
  const bytes = readFileSync(file);
  assert.is(info.sha256, createHash('sha256').update(bytes).digest('hex'));
  const table = arrow.tableFromIPC(bytes);
  assert.is(table.numRows, 250);
  assert.is(table.batches.length, 3);
  assert.equal(table.schema.fields.map((f) => `${f.name} ${f.type}`), [
    'id Utf8',
    'repo Utf8',
    'license Utf8',
    'text Utf8',
    'input_ids List<Int32>',
    'loss_mask List<Uint8>',
    'num_tokens Int32',
  ]);
  assert.is(table.schema.metadata.get('retrace.layout'), 'documents');
  const ids = table.getChild('input_ids')!;
  for (const i of [0, 99, 100, 249]) assert.equal(Array.from(ids.get(i)!.toArray() as Int32Array), Array.from(DOCS[i]!.inputIds));
  assert.is(table.getChild('text')!.get(5), DOCS[5]!.text);
  assert.is(Number(table.getChild('num_tokens')!.toArray().reduce((a: number, b: number) => a + b, 0)), TOKENS);
});

test('empty shards carry the schema', async () => {
  for (const format of ['parquet', 'arrow'] as const) {
    const info = await write({ file: join(dir, `empty.${format}`), layout: 'packed', format }, [], 1);
    assert.equal({ rows: info.rows, tokens: info.tokens }, { rows: 0, tokens: 0 });
  }
  const [row] = await queryShards(`SELECT count(*)::INT AS n FROM ${sqlPath(join(dir, 'empty.parquet'))}`);
  assert.is(row!.n, 0);
  assert.is(arrow.tableFromIPC(readFileSync(join(dir, 'empty.arrow'))).schema.fields.length, 5);
});

test('atomic write: nothing under the final name until close(); abort() leaves nothing', async () => {
  for (const format of ['parquet', 'arrow'] as const) {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const file = join(sub, `shard.${format}`);
    const writer = await openShardWriter({ file, layout: 'documents', format, rowGroupRows: 10 });
    await writer.append(DOCS.slice(0, 95));
    const during = readdirSync(sub);
    assert.not.ok(during.includes(`shard.${format}`), format);
    assert.ok(during.some((f) => f.startsWith(`shard.${format}.tmp-`)));
    await writer.close();
    assert.equal(readdirSync(sub), [`shard.${format}`]);

    const aborted = join(sub, `aborted.${format}`);
    const w2 = await openShardWriter({ file: aborted, layout: 'documents', format });
    await w2.append(DOCS.slice(0, 10));
    await w2.abort();
    assert.equal(readdirSync(sub), [`shard.${format}`]);
    await assert.not.ok(await w2.append([]).then(() => true, () => false), 'append after abort fails');
  }
});

test('bad settings are CONFIG_INVALID errors', async () => {
  const file = join(dir, 'bad.parquet');
  for (const opts of [{ rowGroupRows: 0 }, { rowGroupBytes: 0 }, { compression: 'lz4' as never }]) {
    const err = await openShardWriter({ file, layout: 'documents', format: 'parquet', ...opts }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    assert.is(err?.code, 'CONFIG_INVALID', JSON.stringify(opts));
  }
});

test.run();
