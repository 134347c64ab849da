/**
 * The default pipeline: a small embedded corpus of real JavaScript packages that every fresh
 * install has (they come with this project's own dependencies), rebuilt as development
 * trajectories. With no LLM endpoint configured, the offline provider writes plans and thoughts
 * from the code's structure (deterministic, no network; not a language model): set `llm` to an
 * OpenAI-compatible endpoint for real ones. `format: 'raw'` gives the paper's Raw-Repos baseline.
 * Point `sources` at your own repositories: { dir }, { git, rev } or { tarball }.
 */
import { defineConfig } from './stages/config.ts';

export default defineConfig({
  name: 'embedded-js',
  format: 'trajectory',
  sources: [
    { dir: 'node_modules/yargs' },
    { dir: 'node_modules/yargs-parser' },
    { dir: 'node_modules/parquetjs-lite' },
    { dir: 'node_modules/piscina' },
    { dir: 'node_modules/uvu' },
    { dir: 'node_modules/msgpackr' },
    { dir: 'node_modules/lmdb' },
    { dir: 'node_modules/diff' },
  ],
  tokenizer: { name: 'llama3', bos: 128000, eos: 128001 },
  output: { layout: 'documents', format: 'parquet', compression: 'zstd' },
});
