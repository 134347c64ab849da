/**
 * First-sight tokenizer throughput on a real corpus (issue 17): every text file of each package
 * folder under --dir (.js/.cjs/.mjs/.ts/.json/.md under 1 MB, node_modules skipped), joined per
 * package into one document, encoded once in this process on one core, with the tokenizer of the
 * checkout --repo (default: this one). A checksum of the ids is printed, so two checkouts run one
 * after the other (alternate them: the machine may be shared) show they give the same ids.
 *
 *   node --import tsx bench/tokenize-corpus.ts --dir <folder of package folders> [--repo <checkout>]
 *
 * bench/corpus-scale.ts leaves such a folder at <its --dir>/corpus-200.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({ options: { dir: { type: 'string' }, repo: { type: 'string' } } });
if (!o.dir || !existsSync(o.dir)) throw new Error('--dir: give a folder of package folders (bench/corpus-scale.ts leaves one at <its --dir>/corpus-200)');
const repo = resolve(o.repo ?? join(import.meta.dirname, '..'));

const docs: string[] = [];
for (const pkg of readdirSync(o.dir).sort()) {
  const parts: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (e.isFile() && /\.(c|m)?(js|ts)$|\.json$|\.md$/.test(e.name) && statSync(p).size < 1e6) parts.push(readFileSync(p, 'utf8'));
    }
  };
  if (statSync(join(o.dir, pkg)).isDirectory()) walk(join(o.dir, pkg));
  docs.push(parts.join('\n'));
}
const mb = docs.reduce((a, d) => a + d.length, 0) / 1048576;

const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
const c0 = cpu();
const t0 = performance.now();
const { loadLlama3Tokenizer } = await import(pathToFileURL(join(repo, 'stages/tokenize/llama3.ts')).href);
const tok = await loadLlama3Tokenizer();
const c1 = cpu();
const t1 = performance.now();
const encoded: Int32Array[] = docs.map((d) => tok.encodeOrdinary(d));
const c2 = cpu();
const t2 = performance.now();
let tokens = 0;
let check = 0;
for (const ids of encoded) {
  tokens += ids.length;
  for (let i = 0; i < ids.length; i++) check = (Math.imul(check, 31) + ids[i]!) | 0;
}
console.log(
  `${repo}: ${docs.length} documents, ${mb.toFixed(1)} MB, ${tokens} tokens, ids checksum ${check >>> 0}; ` +
    `tokenizer load ${(t1 - t0).toFixed(0)} ms; encode ${((t2 - t1) / 1000).toFixed(2)} s wall, ${(c2 - c1).toFixed(2)} CPU-s, ${(tokens / (t2 - t1) / 1000).toFixed(2)}M tokens/s`,
);
