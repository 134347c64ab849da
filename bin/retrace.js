#!/usr/bin/env node
// The `retrace` binary. The project is TypeScript; loading ~100 modules through a TypeScript
// loader costs about a second per start, which would dominate a no-op rebuild. So the CLI is
// bundled with esbuild into dist/<fingerprint>/ on first use and whenever a source file changes
// (the fingerprint covers the path, size and mtime of every source file, this file and the
// lockfile), then imported as plain JS. The same build also turns every worker task module into
// plain JS beside it (dist/<fingerprint>/stages/.../task.js), so worker threads import JS and
// never load a TypeScript loader: task modules are the files named as
// `new URL('./x.ts', import.meta.url)` in the sources, and src/pool.ts maps each task's source
// URL to its built file (the map is compiled into the bundle as __RETRACE_TASKS__).
// Packages stay external; `import.meta.url` keeps meaning the original source file, so task
// modules, prompt files, query files and the vocabulary resolve exactly as they do unbundled.
// If bundling fails (e.g. while editing), it falls back to running the sources through tsx.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const SOURCE = /\.(ts|mts|mjs|js)$/;
const CODE_DIRS = ['src', 'stages', 'cli'];

function walk(dir, visit) {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, visit);
    else if (SOURCE.test(e.name)) visit(p);
  }
}

function fingerprint() {
  const h = createHash('sha256');
  h.update(process.version);
  for (const dir of CODE_DIRS) {
    walk(join(root, dir), (p) => {
      const s = statSync(p);
      h.update(`${p}\0${s.size}\0${s.mtimeMs}\n`);
    });
  }
  h.update(readFileSync(self));
  h.update(readFileSync(join(root, 'package-lock.json')));
  return h.digest('hex').slice(0, 16);
}

const TASK_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"]+\.ts)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Worker task modules: every `new URL('./x.ts', import.meta.url)` of the sources. */
function taskModules() {
  const found = new Set();
  for (const dir of CODE_DIRS) {
    walk(join(root, dir), (p) => {
      if (!p.endsWith('.ts')) return;
      for (const m of readFileSync(p, 'utf8').matchAll(TASK_URL)) {
        const target = resolve(dirname(p), m[2]);
        if (existsSync(target)) found.add(target);
      }
    });
  }
  return [...found].sort();
}

async function bundle(outdir) {
  const { build } = await import('esbuild');
  const tmp = `${outdir}.tmp-${randomBytes(4).toString('hex')}`;
  const tasks = taskModules();
  // Source URL of each task module -> URL of its built file in the final folder.
  const map = Object.fromEntries(tasks.map((t) => [pathToFileURL(t).href, pathToFileURL(join(outdir, relative(root, t)).replace(/\.ts$/, '.js')).href]));
  await build({
    entryPoints: [join(root, 'cli/main.ts'), ...tasks],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: tmp,
    outbase: root,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    define: { __RETRACE_TASKS__: JSON.stringify(map) },
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
    if (!existsSync(join(outdir, 'cli/main.js'))) throw err; // else another process finished the same bundle first
  }
}

let entry;
if (!process.env.RETRACE_NO_BUNDLE) {
  try {
    const fp = fingerprint();
    const dist = join(root, 'dist');
    const outdir = join(dist, fp);
    if (!existsSync(join(outdir, 'cli/main.js'))) {
      await bundle(outdir);
      // Old bundles may still be running (a build loads chunks lazily): remove only stale ones.
      // Other entries (dist/vocab, dist/config) are content-keyed caches of their own.
      const dayAgo = Date.now() - 24 * 3600 * 1000;
      for (const old of readdirSync(dist)) {
        if (old !== fp && /^[0-9a-f]{16}(\.tmp-[0-9a-f]+)?$/.test(old) && statSync(join(dist, old)).mtimeMs < dayAgo) rmSync(join(dist, old), { recursive: true, force: true });
      }
    }
    entry = pathToFileURL(join(outdir, 'cli/main.js')).href;
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
