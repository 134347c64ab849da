/**
 * Output layouts and formats end to end: packed sequences of exactly seqLen tokens that
 * concatenate back to the documents, Arrow IPC shards, and dataset diff between versions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { Project } from './helpers/project.ts';
import { readShard } from './helpers/duckdb.ts';

const p = new Project();
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i} * 2; // ${tag} value ${i}`).join('\n') + '\n';
p.repo('one', { 'a.mjs': lines(40, 'a'), 'b.mjs': "import { a1 } from './a.mjs';\nexport default a1;\n" });
p.repo('two', { 'index.js': lines(25, 'two') });
p.repo('three', { 'x.js': lines(60, 'x'), 'y.js': "require('./x');\n" });
const sources = [{ dir: 'repos/one' }, { dir: 'repos/two' }, { dir: 'repos/three' }];

async function documentsOf(): Promise<Map<string, { ids: number[]; mask: number[] }>> {
  const cfg = p.config({ name: 'docs', format: 'raw', sources, workers: 1 }, 'docs.config.ts');
  const r = p.run(['build', '--json', '--config', cfg]);
  assert.is(r.code, 0, r.stderr);
  const rows = await readShard(join(r.json.path, 'data/train-00000-of-00001.parquet'));
  return new Map(rows.map((row) => [row.id as string, { ids: row.input_ids, mask: row.loss_mask }]));
}

test('packed: every sequence has seqLen tokens and the sequences concatenate to the documents', async () => {
  const docs = await documentsOf();
  const seqLen = 256;
  const cfg = p.config({ name: 'packed', format: 'raw', sources, workers: 1, output: { layout: 'packed', seqLen, lastPartial: 'pad', padId: 128001, shardTokens: 1024 } }, 'packed.config.ts');
  const r = p.run(['build', '--json', '--config', cfg]);
  assert.is(r.code, 0, r.stderr);
  const files = readdirSync(join(r.json.path, 'data')).filter((f) => f.endsWith('.parquet')).sort().map((f) => join('data', f));
  assert.ok(files.length >= 2, 'shardTokens splits the sequences into several files');
  const stream: number[] = [];
  const maskStream: number[] = [];
  const order: string[] = [];
  for (const f of files) {
    for (const row of await readShard(join(r.json.path, f))) {
      assert.is(row.input_ids.length, seqLen);
      assert.is(row.loss_mask.length, seqLen);
      assert.is(row.num_tokens, seqLen);
      const lengths = row.doc_lengths as unknown as number[];
      assert.is(lengths.reduce((a, b) => a + b, 0), seqLen);
      let at = 0;
      row.doc_ids!.forEach((id, k) => {
        if (id !== '') {
          if (order[order.length - 1] !== id) order.push(id);
          stream.push(...row.input_ids.slice(at, at + lengths[k]));
          maskStream.push(...row.loss_mask.slice(at, at + lengths[k]));
        } else {
          assert.ok(row.loss_mask.slice(at, at + lengths[k]).every((m) => m === 0), 'padding is never trained');
        }
        at += lengths[k];
      });
    }
  }
  assert.equal(order, ['one', 'three', 'two'], 'documents in identity (id) order, not config order');
  const expected = order.flatMap((id) => docs.get(id)!.ids);
  assert.equal(stream, expected);
  assert.equal(maskStream, order.flatMap((id) => docs.get(id)!.mask));
  const manifest = JSON.parse(readFileSync(join(r.json.path, 'manifest.json'), 'utf8'));
  assert.is(manifest.output.layout, 'packed');
  assert.is(manifest.shards.reduce((n: number, s: any) => n + s.tokens, 0), r.json.tokens);
});

test('arrow: IPC shards hold the same rows as Parquet', async () => {
  const docs = await documentsOf();
  const cfg = p.config({ name: 'arrow', format: 'raw', sources, workers: 1, output: { format: 'arrow' } }, 'arrow.config.ts');
  const r = p.run(['build', '--json', '--config', cfg]);
  assert.is(r.code, 0, r.stderr);
  const table = tableFromIPC(readFileSync(join(r.json.path, 'data/train-00000-of-00001.arrow')));
  assert.is(table.numRows, 3);
  let tokens = 0;
  for (const row of table) {
    const ids = Array.from(row.input_ids as Iterable<number>);
    assert.equal(ids, docs.get(row.id as string)!.ids);
    tokens += row.num_tokens as number;
  }
  assert.is(tokens, r.json.tokens);
});

test('dataset diff names the changed document and setting', () => {
  const cfg = p.config({ name: 'diffed', format: 'raw', sources, workers: 1 }, 'diff.config.ts');
  const a = p.run(['build', '--json', '--config', cfg]);
  p.write('repos/two/index.js', lines(30, 'two'));
  const cfg2 = p.config({ name: 'diffed', format: 'raw', sources, workers: 1, output: { compression: 'snappy' } }, 'diff.config.ts');
  const b = p.run(['build', '--json', '--config', cfg2]);
  assert.is(a.code, 0);
  assert.is(b.code, 0);
  const d = p.run(['dataset', 'diff', `diffed/${a.json.version}`, `diffed/${b.json.version}`, '--json', '--config', cfg2]);
  assert.is(d.code, 0, d.stderr);
  assert.equal(d.json.documents.changed.map((c: any) => c.id), ['two']);
  assert.ok(d.json.documents.changed[0].tokensB > d.json.documents.changed[0].tokensA);
  assert.ok(d.json.settings.some((s: any) => s.field === 'output.compression' && s.a === 'zstd' && s.b === 'snappy'));
  assert.ok(d.json.settings.some((s: any) => s.field.startsWith('sources')), 'the changed source snapshot is reported');
});

test.after(() => p.cleanup());
test.run();
