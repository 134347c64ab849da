#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (postinstall): links node_modules/.bin/retrace to
// bin/retrace.js when this folder is the project being installed (it has its own node_modules).
// Why not package.json "bin": `npx retrace` inside a project whose package.json declares the bin
// installs the project into npx's cache through arborist (a full tree load) before every run,
// about 0.3-0.4 s on each call; a node_modules/.bin entry is run directly. ("directories.bin" is
// normalized into "bin" by the same code, so it takes the slow path too.) For a `retrace` on
// PATH, link bin/retrace.js yourself (README).
import { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
if (existsSync(join(root, 'node_modules'))) {
  const link = join(binDir, 'retrace');
  const target = relative(binDir, join(root, 'bin', 'retrace.js'));
  try {
    mkdirSync(binDir, { recursive: true });
    let ok = false;
    try {
      ok = lstatSync(link).isSymbolicLink() && readlinkSync(link) === target;
    } catch {
      // no link yet
    }
    if (!ok) {
      rmSync(link, { force: true });
      symlinkSync(target, link);
    }
  } catch (err) {
    console.error(`retrace: could not link ${link} -> ${target}: ${err && err.message ? err.message : err}`);
    console.error('Fix: make node_modules/.bin writable and run `npm ci` again; meanwhile `node bin/retrace.js` runs the CLI.');
    process.exit(1);
  }
}
