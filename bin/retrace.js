#!/usr/bin/env node
// The `retrace` binary. The project is TypeScript; loading ~100 modules through a TypeScript
// loader costs about a second per start, which would dominate a no-op rebuild. So the CLI is
// bundled with esbuild into dist/<fingerprint>/ on first use and whenever a source file changes
// (the fingerprint covers the path, size and mtime of every source file), then imported as
// plain JS. Packages stay external; `import.meta.url` keeps meaning the original source file, so
// worker task modules, prompt files and query files resolve exactly as they do unbundled.
// If bundling fails (e.g. while editing), it falls back to running the sources through tsx.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|mts|mjs|js)$/;

function fingerprint() {
  const h = createHash('sha256');
  h.update(process.version);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (SOURCE.test(e.name)) {
        const s = statSync(p);
        h.update(`${p}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'stages'));
  walk(join(root, 'cli'));
  h.update(readFileSync(join(root, 'package-lock.json')));
  return h.digest('hex').slice(0, 16);
}

async function bundle(outdir) {
  const { build } = await import('esbuild');
  const tmp = `${outdir}.tmp-${randomBytes(4).toString('hex')}`;
  await build({
    entryPoints: [join(root, 'cli/main.ts')],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: tmp,
    logLevel: 'silent',
    plugins: [
      {
        name: 'keep-import-meta',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8')
              .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
              .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path))),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  try {
    renameSync(tmp, outdir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(outdir, 'main.js'))) throw err; // else another process finished the same bundle first
  }
}

let entry;
if (!process.env.RETRACE_NO_BUNDLE) {
  try {
    const fp = fingerprint();
    const dist = join(root, 'dist');
    const outdir = join(dist, fp);
    if (!existsSync(join(outdir, 'main.js'))) {
      await bundle(outdir);
      // Old bundles may still be running (a build loads chunks lazily): remove only stale ones.
      const dayAgo = Date.now() - 24 * 3600 * 1000;
      for (const old of readdirSync(dist)) {
        if (old !== fp && statSync(join(dist, old)).mtimeMs < dayAgo) rmSync(join(dist, old), { recursive: true, force: true });
      }
    }
    entry = pathToFileURL(join(outdir, 'main.js')).href;
  } catch (err) {
    // Still works, only slower to start: say so once, with the cause.
    process.stderr.write(`warning BUNDLE_FAILED ${join(root, 'dist')}: ${err?.message ?? err}; running from the TypeScript sources (slower start)\n`);
    entry = undefined;
  }
}
if (entry) {
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
