/**
 * The dataset card: README.md in the version folder, with the YAML header the Hugging Face
 * `datasets` library reads (configs -> data_files, dataset_info -> features and split sizes,
 * license when the manifest knows it) and a readable account of what the version is made of.
 * It is derived from the manifest alone (same manifest, same card), so it is not part of the
 * version id. Every manifest section other than shards is optional here: a card is written for
 * whatever the manifest holds.
 */
import type { Manifest } from '../../src/dataset.ts';

type Feature = { name: string; dtype?: string; sequence?: string };

/**
 * The columns of each layout (layout.ts: the Arrow schemas are the source of truth) in the
 * `datasets` features vocabulary; test/hf-layout.test.ts checks them against real shards.
 */
/** The card's table lists at most this many sources (a card is read by people; the manifest has them all). */
export const CARD_SOURCES = 1000;

export const CARD_FEATURES: Record<'documents' | 'packed', Feature[]> = {
  documents: [
    { name: 'id', dtype: 'string' },
    { name: 'repo', dtype: 'string' },
    { name: 'license', dtype: 'string' },
    { name: 'text', dtype: 'string' },
    { name: 'input_ids', sequence: 'int32' },
    { name: 'loss_mask', sequence: 'uint8' },
    { name: 'num_tokens', dtype: 'int32' },
  ],
  packed: [
    { name: 'input_ids', sequence: 'int32' },
    { name: 'loss_mask', sequence: 'uint8' },
    { name: 'doc_ids', sequence: 'string' },
    { name: 'doc_lengths', sequence: 'int32' },
    { name: 'num_tokens', dtype: 'int32' },
  ],
};

/** A YAML scalar: quoted unless it is a plain word. */
const y = (v: string | number): string => (typeof v === 'number' || /^[A-Za-z0-9_.\/-]+$/.test(v) ? String(v) : JSON.stringify(v));

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * SPDX ids the manifest records, wherever a license section puts them (`license: 'MIT'`,
 * `license: { spdx }`, `license: { licenses: [...] }`, per-source `license`): unknown -> none.
 */
export function licensesOf(m: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const take = (v: unknown): void => {
    if (typeof v === 'string' && /^[A-Za-z0-9.+-]+$/.test(v) && v.toLowerCase() !== 'unknown') found.add(v);
    else if (Array.isArray(v)) v.forEach(take);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of ['spdx', 'id', 'license', 'licenses', 'spdxId']) if (k in o) take(o[k]);
    }
  };
  take(m.license);
  for (const s of Array.isArray(m.sources) ? m.sources : []) take(obj(s).license);
  return [...found].sort();
}

export function datasetCard(m: Manifest): string {
  const output = obj(m.output);
  const layout = output.layout === 'packed' ? 'packed' : 'documents';
  const ext = output.format === 'arrow' ? 'arrow' : 'parquet';
  const rows = m.shards.reduce((n, s) => n + s.rows, 0);
  const bytes = m.shards.reduce((n, s) => n + s.bytes, 0);
  const tokens = m.shards.reduce((n, s) => n + s.tokens, 0);
  const licenses = licensesOf(m);
  const yaml = [
    '---',
    ...(licenses.length === 1 ? [`license: ${y(licenses[0].toLowerCase())}`] : licenses.length > 1 ? ['license:', ...licenses.map((l) => `- ${y(l.toLowerCase())}`)] : []),
    `pretty_name: ${y(`${m.name} ${m.version}`)}`,
    'tags:',
    '- code',
    '- retrace',
    `- ${y(String(m.format ?? 'raw'))}`,
    'configs:',
    '- config_name: default',
    '  data_files:',
    '  - split: train',
    `    path: data/train-*.${ext}`,
    'dataset_info:',
    '  features:',
    ...CARD_FEATURES[layout].flatMap((f) => [`  - name: ${f.name}`, f.sequence ? `    sequence: ${f.sequence}` : `    dtype: ${f.dtype}`]),
    '  splits:',
    '  - name: train',
    `    num_bytes: ${bytes}`,
    `    num_examples: ${rows}`,
    `  download_size: ${bytes}`,
    `  dataset_size: ${bytes}`,
    '---',
  ];
  const sources = (Array.isArray(m.sources) ? m.sources : []).map(obj);
  const partial = obj(m.partial);
  const tok = obj(m.tokenizer);
  const body = [
    `# ${m.name} (version ${m.version})`,
    '',
    `Built by Retrace. ${layout === 'packed' ? `Packed sequences of ${output.seqLen} tokens` : 'One row per document'}, ` +
      `${m.format === 'trajectory' ? 'each repository rendered as a development trajectory (plan, then Think / Action / Observation steps per file)' : 'each repository rendered as its raw files'}; ` +
      `exact ${String(tok.name ?? 'llama3')} token ids with a loss mask (1 = trained).`,
    '',
    `- rows: ${rows}; tokens: ${tokens}; shards: ${m.shards.length} (${bytes} bytes)`,
    `- merkle root: ${m.merkleRoot} (over the shards' SHA-256 and manifest.json)`,
    ...(licenses.length ? [`- licenses: ${licenses.join(', ')}`] : []),
    ...(m.partial ? [`- **partial**: ${partial.failures} item(s) failed during the build; see manifest.json \`partial\``] : []),
    '',
    ...(sources.length
      ? [
          '## Sources',
          '',
          '| source | commit | files | skipped | status |',
          '|---|---|---|---|---|',
          ...sources.slice(0, CARD_SOURCES).map((s) => {
            const spec = obj(s.source);
            const label = String(s.name ?? spec.dir ?? spec.git ?? spec.tarball ?? '?');
            const files = typeof s.files === 'number' ? s.files : Array.isArray(s.files) ? s.files.length : '';
            const skipped = Array.isArray(s.skipped) ? s.skipped.length : '';
            const status = s.excluded ? `excluded (${String(obj(s.excluded).code ?? '')})` : 'ok';
            return `| ${label} | ${String(s.commit ?? '').slice(0, 12)} | ${files} | ${skipped} | ${status} |`;
          }),
          ...(sources.length > CARD_SOURCES ? ['', `... and ${sources.length - CARD_SOURCES} more sources: \`manifest.json\` lists every one.`] : []),
          '',
        ]
      : []),
    '## Files',
    '',
    ...m.shards.map((s) => `- \`${s.file}\`: ${s.rows} rows, ${s.tokens} tokens, sha256 ${s.sha256.slice(0, 16)}…`),
    '- `manifest.json`: every input and setting this version was built from',
    '',
    '## Reading it',
    '',
    'Paths are relative to this folder.',
    '',
    '```python',
    ...(ext === 'parquet'
      ? ['import pyarrow.parquet as pq', 't = pq.read_table("data")', '', 'from datasets import load_dataset', 'ds = load_dataset("parquet", data_dir="data", split="train")', '# or: load_dataset(".") from this folder (the YAML header above names the files)']
      : ['from datasets import load_dataset', 'ds = load_dataset("arrow", data_dir="data", split="train")']),
    '```',
    ...(ext === 'parquet' ? ['', '```sql', "SELECT id, num_tokens FROM read_parquet('data/*.parquet');".replace('id, ', layout === 'packed' ? 'doc_ids, ' : 'id, '), '```'] : []),
    '',
  ];
  return [...yaml, '', ...body].join('\n');
}
