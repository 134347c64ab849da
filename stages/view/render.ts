/**
 * A document as a reader sees it: Think / Action / Observation steps marked, loss-masked spans
 * (tokens the model is not trained on, e.g. tool observations) shaded. Three renderings of the
 * same spans: ANSI colors for a terminal, plain text with [masked]...[/masked] marks for pipes,
 * and one self-contained HTML page.
 */
import type { Span } from './rows.ts';

export type StepKind = 'think' | 'action' | 'observation' | 'heading';

/** The step a line starts, from its prefix. */
export function stepOf(line: string): { kind: StepKind; label: string } | undefined {
  const m = /^(Think:|Action:|Observation:|#{1,3} )/.exec(line);
  if (!m) return undefined;
  const label = m[1];
  return { kind: label.startsWith('#') ? 'heading' : (label.slice(0, -1).toLowerCase() as StepKind), label };
}

interface Piece {
  text: string;
  trained: boolean;
  step?: StepKind;
}

/** Spans cut into pieces, with the step label at each line start as its own piece. */
function pieces(spans: Span[]): Piece[] {
  const out: Piece[] = [];
  let lineStart = true;
  for (const s of spans) {
    for (const part of s.text.split(/(?<=\n)/)) {
      if (part === '') continue;
      const step = lineStart ? stepOf(part) : undefined;
      if (step) {
        out.push({ text: step.label, trained: s.trained, step: step.kind });
        if (part.length > step.label.length) out.push({ text: part.slice(step.label.length), trained: s.trained });
      } else out.push({ text: part, trained: s.trained });
      lineStart = part.endsWith('\n');
    }
  }
  return out;
}

const ANSI: Record<StepKind, string> = { think: '\x1b[1;36m', action: '\x1b[1;33m', observation: '\x1b[1;35m', heading: '\x1b[1;4m' };

/** Terminal rendering: step labels colored, masked text dim on a grey background. */
export function renderAnsi(spans: Span[]): string {
  return pieces(spans)
    .map((p) => {
      const body = p.text.replace(/\n$/, '');
      const nl = p.text.endsWith('\n') ? '\n' : '';
      const style = (p.step ? ANSI[p.step] : '') + (p.trained ? '' : '\x1b[2;48;5;236m');
      return style ? `${style}${body}\x1b[0m${nl}` : p.text;
    })
    .join('');
}

/** Plain rendering for pipes and files: masked runs bracketed. */
export function renderPlain(spans: Span[]): string {
  return spans.map((s) => (s.trained ? s.text : `[masked]${s.text}[/masked]`)).join('');
}

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const VIEW_CSS = `
.doc{white-space:pre-wrap;font:13px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#fff;border:1px solid #ddd;padding:12px;border-radius:6px}
.doc .m{background:#e8e8e8;color:#666}
.doc .think{color:#0a7a8a;font-weight:bold}.doc .action{color:#a36a00;font-weight:bold}.doc .observation{color:#8a2a8a;font-weight:bold}.doc .heading{font-weight:bold;text-decoration:underline}
.legend span{display:inline-block;margin-right:14px;padding:1px 6px;border-radius:3px}
`;

/** The document's HTML (a fragment: one <div class="doc">). */
export function renderHtmlFragment(spans: Span[]): string {
  const inner = pieces(spans)
    .map((p) => {
      const classes = [p.step, p.trained ? '' : 'm'].filter(Boolean).join(' ');
      return classes ? `<span class="${classes}">${escapeHtml(p.text)}</span>` : escapeHtml(p.text);
    })
    .join('');
  return `<div class="doc">${inner}</div>`;
}

export function viewStats(spans: Span[]): { steps: Record<StepKind, number>; maskedChars: number; trainedChars: number } {
  const steps: Record<StepKind, number> = { think: 0, action: 0, observation: 0, heading: 0 };
  for (const p of pieces(spans)) if (p.step) steps[p.step]++;
  let maskedChars = 0;
  let trainedChars = 0;
  for (const s of spans) s.trained ? (trainedChars += s.text.length) : (maskedChars += s.text.length);
  return { steps, maskedChars, trainedChars };
}

/** A whole, self-contained page for one document (no script, no network). */
export function renderHtmlPage(title: string, spans: Span[]): string {
  const st = viewStats(spans);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}${VIEW_CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="legend"><span class="think" style="color:#0a7a8a;font-weight:bold">Think</span><span style="color:#a36a00;font-weight:bold">Action</span><span style="color:#8a2a8a;font-weight:bold">Observation</span><span style="background:#e8e8e8;color:#666">loss-masked (not trained)</span></p>
<p>${st.steps.think} Think, ${st.steps.action} Action, ${st.steps.observation} Observation step(s); ${st.trainedChars} trained and ${st.maskedChars} loss-masked characters.</p>
${renderHtmlFragment(spans)}
</body></html>
`;
}
