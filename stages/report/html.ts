/**
 * `retrace report`: one self-contained HTML file. Chart.js (npm `chart.js`, UMD build) is inlined
 * with the figures' data, so the page needs no network when viewed; charts draw on <canvas>
 * without animation. A summary table, the figures, the reasons for figures not drawn, and the
 * first document as a reader sees it follow each other on one page.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Figure, Missing } from './figures.ts';
import { escapeHtml, renderHtmlFragment, VIEW_CSS } from '../view/render.ts';
import type { Span } from '../view/rows.ts';

function chartJsSource(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

/** JSON or script text safe inside a <script> element. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

const PALETTE = ['#4e79a7', '#bab0ac', '#e15759', '#f28e2b', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

export interface ReportInput {
  title: string;
  facts: Array<[string, string]>;
  figures: Figure[];
  missing: Missing[];
  sample?: { id: string; spans: Span[]; truncated: boolean };
}

export function renderReport(r: ReportInput): string {
  const charts = r.figures.map((f) => ({
    id: f.id,
    type: f.kind === 'line' ? 'line' : 'bar',
    stacked: f.kind === 'stacked',
    labels: f.labels,
    datasets: f.series.map((s, k) => ({ label: s.label, data: s.data, backgroundColor: PALETTE[k % PALETTE.length], borderColor: PALETTE[k % PALETTE.length] })),
    x: f.x ?? '',
    y: f.y ?? '',
    integer: f.integer === true,
  }));
  const boot = `
(function () {
  var charts = ${JSON.stringify(charts)};
  window.retraceCharts = [];
  charts.forEach(function (c) {
    var el = document.getElementById('chart-' + c.id);
    var axis = function (t, y) { return { stacked: c.stacked, title: { display: !!t, text: t }, beginAtZero: true, ticks: y && c.integer ? { precision: 0 } : {} }; };
    window.retraceCharts.push(new Chart(el, {
      type: c.type,
      data: { labels: c.labels, datasets: c.datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: c.datasets.length > 1 } }, scales: { x: axis(c.x, false), y: axis(c.y, true) } }
    }));
  });
  document.body.setAttribute('data-charts-drawn', String(window.retraceCharts.length));
})();`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222;max-width:1200px}
table.facts td{padding:2px 12px 2px 0;vertical-align:top} table.facts td:first-child{color:#666}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:18px}
.fig{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px} .fig h3{margin:0 0 6px;font-size:15px}
.fig .box{position:relative;height:280px}
.missing li{color:#666}
${VIEW_CSS}
</style></head><body>
<h1>${escapeHtml(r.title)}</h1>
<table class="facts">${r.facts.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>Figures</h2>
<div class="grid">
${r.figures.map((f) => `<div class="fig"><h3>${escapeHtml(f.title)}</h3><div class="box"><canvas id="chart-${f.id}" role="img" aria-label="${escapeHtml(f.title)}"></canvas></div>${f.note ? `<p>${escapeHtml(f.note)}</p>` : ''}</div>`).join('\n')}
</div>
${r.missing.length ? `<h2>Not drawn</h2><ul class="missing">${r.missing.map((m) => `<li>${escapeHtml(m.title)}: ${escapeHtml(m.why)}</li>`).join('')}</ul>` : ''}
${
  r.sample
    ? `<h2>First document: ${escapeHtml(r.sample.id)}</h2><p>Think / Action / Observation marked; grey = loss-masked (not trained).${r.sample.truncated ? ' Truncated; see <code>retrace view</code> for the whole document.' : ''}</p>${renderHtmlFragment(r.sample.spans)}`
    : ''
}
<script>${scriptSafe(chartJsSource())}</script>
<script>${scriptSafe(boot)}</script>
</body></html>
`;
}
