/**
 * Issue 16: `retrace report` and `retrace view --html` in a real headless browser (Debian's
 * chromium, installed by scripts/test-services.sh, driven by playwright-core). The page loads
 * from file:// with no console error and no network request, and every chart draws (a canvas
 * with painted pixels). Screenshots are kept in test-artifacts/ (gitignored).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Project, ROOT } from './helpers/project.ts';
import { RICH_BUILD, RICH_MANIFEST } from './fixtures/report/rich.ts';
import { reportFigures } from '../stages/report/figures.ts';
import { renderReport } from '../stages/report/html.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

const p = new Project('retrace-report-');
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `export const ${tag}${i} = ${i}; // ${tag} ${i}`).join('\n') + '\n';
p.repo('calc', { 'add.js': 'export function add(a, b) { return a + b; }\n', 'main.js': "import { add } from './add.js';\nconsole.log(add(1, 2));\n", 'logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]) });
p.repo('big', { 'a.js': lines(120, 'a'), 'b.js': "import { a1 } from './a.js';\nexport default a1;\n" });
p.config({ name: 'report', format: 'trajectory', sources: [{ dir: 'repos/calc' }, { dir: 'repos/big' }], workers: 1 });
const built = p.run(['build', '--json']);

let browser: BrowserContext;
const userDataDir = mkdtempSync(join(tmpdir(), 'retrace-chromium-'));

test.before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test-services.sh installs it (apt-get install -y chromium)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  // A fresh profile (--user-data-dir) per run: playwright passes it for a persistent context.
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

/** Open a file:// page, failing on console errors, page errors and any network request. */
async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

test('report: the page loads offline with no console error and every chart draws', async () => {
  assert.is(built.code, 0, built.stderr);
  const r = p.run(['report', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.json.file, join(built.json.path, 'report.html'));
  for (const id of ['tokens-per-document', 'trained-vs-masked', 'skip-reasons', 'stage-time', 'stage-cache', 'llm-calls']) assert.ok(r.json.figures.includes(id), `figure ${id} in ${r.json.figures}`);
  const html = readFileSync(r.json.file, 'utf8');
  assert.not.match(html, /<script[^>]+src=|<link[^>]+href=["']?https?:/, 'no external script or stylesheet');

  const { page, errors, requests } = await open(r.json.file);
  await page.waitForSelector('body[data-charts-drawn]');
  const canvases = await page.$$eval('canvas', (els) =>
    els.map((c) => {
      const cv = c as HTMLCanvasElement;
      const px = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let painted = 0;
      for (let k = 3; k < px.length; k += 4) if (px[k] > 0) painted++;
      return { id: cv.id, w: cv.width, h: cv.height, painted };
    }),
  );
  assert.is(canvases.length, r.json.figures.length, 'one canvas per figure');
  for (const c of canvases) {
    assert.ok(c.w > 0 && c.h > 0, `${c.id} has a size`);
    assert.ok(c.painted > 500, `${c.id} drew something (${c.painted} painted pixels)`);
  }
  assert.is(await page.getAttribute('body', 'data-charts-drawn'), String(r.json.figures.length));
  // The first document is shown with its steps marked and masked spans shaded.
  assert.ok((await page.$$('.doc .think')).length > 0, 'Think steps marked');
  assert.ok((await page.$$('.doc .m')).length > 0, 'loss-masked spans shaded');
  await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
  assert.equal(errors, [], 'no console errors');
  assert.equal(requests, [], 'no network requests');
  await page.close();
});

test('report with every optional section (shape, search, hygiene, LLM tokens and cost): all 11 charts draw', async () => {
  const { figures, missing } = reportFigures(RICH_MANIFEST, RICH_BUILD);
  const file = p.path('rich.html');
  writeFileSync(file, renderReport({ title: 'rich', facts: [['k', 'v']], figures, missing }));
  const { page, errors, requests } = await open(file);
  await page.waitForSelector('body[data-charts-drawn]');
  const painted = await page.$$eval('canvas', (els) =>
    els.map((c) => {
      const cv = c as HTMLCanvasElement;
      const px = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let k = 3; k < px.length; k += 4) if (px[k] > 0) n++;
      return n;
    }),
  );
  assert.is(painted.length, 11);
  assert.ok(painted.every((n) => n > 500), JSON.stringify(painted));
  await page.screenshot({ path: join(ARTIFACTS, 'report-rich.png'), fullPage: true });
  assert.equal(errors, []);
  assert.equal(requests, []);
  await page.close();
});

test('view --html: steps marked, masked spans shaded, offline', async () => {
  const file = p.path('calc.html');
  const r = p.run(['view', 'calc', '--html', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.json.steps.think > 0 && r.json.steps.action > 0 && r.json.steps.observation > 0, JSON.stringify(r.json.steps));
  assert.ok(r.json.trained > 0 && r.json.trained < r.json.tokens, 'some tokens are loss-masked');
  const { page, errors, requests } = await open(file);
  assert.is((await page.$$('.doc .observation')).length, r.json.steps.observation);
  // Every Observation's content is loss-masked: the text after each label sits in a shaded span.
  const masked = await page.$$eval('.doc .m', (els) => els.map((e) => e.textContent ?? '').join(''));
  assert.match(masked, /export function add/);
  await page.screenshot({ path: join(ARTIFACTS, 'view.png'), fullPage: true });
  assert.equal(errors, []);
  assert.equal(requests, []);
  await page.close();
});

test('view on a pipe: plain text with [masked] marks; unknown document: coded error naming the documents', () => {
  const r = p.run(['view', 'calc']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Think: /);
  assert.match(r.stdout, /\[masked\]/);
  assert.not.match(r.stdout, /\x1b\[/, 'no color codes on a pipe');
  const bad = p.run(['view', 'nope']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /ITEM_NOT_FOUND.*nope.*calc/);
});

test('dataset head decodes rows back to text, packed rows included', () => {
  const docs = p.run(['dataset', 'head', 'latest', '-n', '1', '--json']);
  assert.is(docs.code, 0, docs.stderr);
  assert.is(docs.json.length, 1);
  assert.match(docs.json[0].text, /^<\|begin_of_text\|>Repository: /);
  p.config({ name: 'packed', format: 'trajectory', sources: [{ dir: 'repos/calc' }, { dir: 'repos/big' }], workers: 1, output: { layout: 'packed', seqLen: 128 } }, 'packed.config.ts');
  const b = p.run(['build', '--json', '--config', 'packed.config.ts']);
  assert.is(b.code, 0, b.stderr);
  const head = p.run(['dataset', 'head', 'packed/latest', '-n', '40', '--json', '--config', 'packed.config.ts']);
  assert.is(head.code, 0, head.stderr);
  assert.ok(head.json.every((r: { tokens: number }) => r.tokens === 128));
  // The rows' text, joined, holds both documents whole, in order.
  const text = head.json.map((r: { text: string }) => r.text).join('');
  assert.match(text, /Repository: big[\s\S]*<\|end_of_text\|><\|begin_of_text\|>Repository: calc|Repository: calc[\s\S]*<\|end_of_text\|><\|begin_of_text\|>Repository: big/);
  assert.ok(head.json.some((r: { documents: unknown[] }) => r.documents.length > 1), 'a sequence spans two documents');
  const plain = p.run(['dataset', 'head', 'packed/latest', '-n', '1', '--config', 'packed.config.ts']);
  assert.match(plain.stdout, /── data\/train-00000-of-00001\.parquet row 0: \w+ \(\d+\)/);
});

test.after(async () => {
  await browser?.close();
  rmSync(userDataDir, { recursive: true, force: true });
  p.cleanup();
});
test.run();
