/**
 * Issue 16: the progress display in a real pseudo-terminal (util-linux `script`, 80 columns):
 * totals and percentage, every redraw fits the width, the summary follows on a clean line; and
 * Ctrl-C (a ^C byte typed into the terminal) prints what is kept and that a rerun resumes,
 * exit 130. Also: the line itself fits any width (unit test of TtyReporter.line).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, Project } from './helpers/project.ts';
import { TtyReporter } from '../src/reporter.ts';

const p = new Project('retrace-pty-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i}; // ${tag} ${i}`).join('\n') + '\n';
for (const r of ['one', 'two', 'three', 'four', 'five', 'six']) p.repo(r, { 'a.js': lines(60, r), 'b.js': `import { ${r}1 } from './a.js';\nexport default ${r}1;\n` });
const sources = ['one', 'two', 'three', 'four', 'five', 'six'].map((r) => ({ dir: `repos/${r}` }));
p.config({ name: 'pty', format: 'trajectory', sources, workers: 1 });

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const inPty = (args: string) => `stty cols 80 rows 24; exec ${q(process.execPath)} ${q(BIN)} ${args}`;
/** The status lines drawn: each redraw starts with \r ESC[2K. */
const statusLines = (out: string) =>
  out
    .split(/\r\x1b\[2K/)
    .map((s) => s.split(/\r?\n/)[0])
    .filter((s) => s.startsWith('['));

test('script: the progress line shows totals and %, and fits 80 columns', () => {
  assert.ok(spawnSync('script', ['--version']).status === 0, 'util-linux `script` is missing: scripts/test-services.sh installs bsdutils');
  const r = spawnSync('script', ['-qfec', inPty('build --cache-dir cache-a'), '/dev/null'], { cwd: p.dir, encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  const drawn = statusLines(r.stdout);
  assert.ok(drawn.length >= 3, `several redraws: ${JSON.stringify(drawn)}`);
  for (const l of drawn) assert.ok(l.length <= 79, `fits 80 columns (${l.length}): ${l}`);
  assert.ok(drawn.some((l) => /repositories \d+\/6 \d+%/.test(l)), `a total with a percentage: ${drawn.join('\n')}`);
  assert.ok(drawn.some((l) => /\| (parse|tokenize|ingest) \d+\/\d+/.test(l)), 'per-stage done/seen counts');
  assert.ok(drawn.some((l) => /llm \d+ calls/.test(l)), 'LLM calls');
  assert.match(r.stdout, /\x1b\[2Kbuilt pty version \w+/, 'the summary starts on a cleared line');
});

test('view on a terminal: step labels in color, loss-masked spans shaded', () => {
  const r = spawnSync('script', ['-qfec', inPty('view one --cache-dir cache-a'), '/dev/null'], { cwd: p.dir, encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout);
  assert.match(r.stdout, /\x1b\[1;36mThink:\x1b\[0m/);
  assert.match(r.stdout, /\x1b\[1;33mAction:\x1b\[0m/);
  assert.match(r.stdout, /\x1b\[2;48;5;236m/, 'masked spans shaded');
  const head = spawnSync('script', ['-qfec', inPty('dataset head latest -n 1'), '/dev/null'], { cwd: p.dir, encoding: 'utf8' });
  assert.match(head.stdout, /\x1b\[1m── data\/train-00000-of-00001\.parquet row 0: /);
});

test('Ctrl-C in the terminal: one line says what is kept and that a rerun resumes; exit 130', async () => {
  const child = spawn('script', ['-qfec', inPty('build --cache-dir cache-b'), '/dev/null'], { cwd: p.dir });
  let out = '';
  let sent = false;
  child.stdout.on('data', (d) => {
    out += d;
    if (!sent && /repositories \d+\/6/.test(out)) {
      sent = true;
      child.stdin.write('\x03');
    }
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.ok(sent, `the build showed progress: ${out}`);
  assert.is(code, 130, out);
  assert.match(out, /interrupted: \d+ finished item\(s\) are kept in the cache \(cache-b\) and no version was written; run the same build again to resume: only what is missing is computed/);
  assert.not.match(out, /built pty version/);
  // The rerun resumes: what finished before ^C comes from the cache.
  const again = p.run(['build', '--json', '--cache-dir', 'cache-b']);
  assert.is(again.code, 0, again.stderr);
  const cached = Object.values(again.json.stages as Record<string, { cached: number }>).reduce((n, s) => n + s.cached, 0);
  assert.ok(cached > 0, 'items finished before Ctrl-C were not recomputed');
});

test('TtyReporter.line fits any width and shows ETA once progress is known', () => {
  const r = new TtyReporter({ columns: 80, write: () => true } as unknown as NodeJS.WriteStream);
  r.emit({ type: 'phase', name: 'building' });
  r.emit({ type: 'plan', unit: 'repositories', total: 10 });
  for (const s of ['ingest', 'parse', 'graph', 'plan', 'implement', 'render-trajectory', 'tokenize']) {
    for (let k = 0; k < 30; k++) r.emit({ type: 'item-start', stage: s, item: `${s}${k}` });
    for (let k = 0; k < 20; k++) r.emit({ type: 'item', stage: s, item: `${s}${k}`, cached: k % 2 === 0 });
  }
  r.emit({ type: 'item', stage: 'llm', item: 'x', cached: false });
  r.emit({ type: 'llm-usage', promptTokens: 1200, completionTokens: 300 });
  for (let k = 0; k < 3; k++) r.emit({ type: 'progress', unit: 'repositories' });
  const later = Date.now() + 6000;
  for (const w of [40, 60, 80, 120, 200]) {
    const l = r.line(w, later);
    assert.ok(l.length <= w - 1, `${w}: ${l}`);
  }
  assert.match(r.line(120, later), /repositories 3\/10 30% [\d.]+\/s ETA \d+s/);
  assert.match(r.line(200, later), /llm 1 calls 1\.5k tok/);
  assert.match(r.line(60, later), /\+\d+ stages$/);
});

test.after(() => p.cleanup());
test.run();
