/**
 * Progress and results travel as events to a reporter, never as console.log calls inside the
 * engine. The TTY reporter draws one status line on stderr; with --json or when stderr is not a
 * terminal, progress stays quiet and only warnings and the final summary are printed.
 * `interrupted()` (Ctrl-C) says what is kept: every finished item is in the cache, and the
 * next build resumes from there.
 */
import type { ErrorCode } from './errors.ts';

export type BuildEvent =
  | { type: 'item-start'; stage: string; item: string }
  | { type: 'item'; stage: string; item: string; cached: boolean; ms?: number }
  | { type: 'item-failed'; stage: string; item: string; error: string }
  | { type: 'warn'; code: ErrorCode; item: string; message: string }
  | { type: 'phase'; name: string; detail?: string }
  | { type: 'llm'; kind: string; item?: string; detail?: string }
  /** A unit of work whose total is known up front (e.g. repositories, shards): progress, %, ETA. */
  | { type: 'plan'; unit: string; total: number }
  | { type: 'progress'; unit: string; done?: number }
  /** Tokens of one LLM request actually sent. */
  | { type: 'llm-usage'; promptTokens: number; completionTokens: number };

export interface Reporter {
  emit(event: BuildEvent): void;
  /** Called once at the end: clear any live display. */
  done(): void;
  /** Items finished so far (for the line printed on Ctrl-C). */
  finished?(): number;
}

export class NullReporter implements Reporter {
  readonly events: BuildEvent[] = [];
  constructor(private readonly keep = false) {}
  emit(event: BuildEvent): void {
    if (this.keep) this.events.push(event);
  }
  done(): void {}
}

/**
 * Warnings as lines, at most WARNING_LINES of each code: at corpus scale one warning per
 * repository (FILES_SKIPPED: most packages ship a minified or duplicated file) printed thousands
 * of lines on every build, cached or not (200 packages: 150 lines, ~80 ms of the main thread of a
 * one-line edit). The rest are counted, and `rest()` gives one line per code that had more.
 * Nothing is lost: `--events` keeps every one, the manifest every skipped file and its reason.
 */
export const WARNING_LINES = 20;

export class WarningLines {
  private readonly seen = new Map<string, number>();

  line(e: { code: ErrorCode; item: string; message: string }): string | undefined {
    const n = (this.seen.get(e.code) ?? 0) + 1;
    this.seen.set(e.code, n);
    return n <= WARNING_LINES ? `warning ${e.code} ${e.item}: ${e.message}\n` : undefined;
  }

  rest(): string {
    let out = '';
    for (const [code, n] of this.seen) {
      if (n > WARNING_LINES) out += `warning ${code}: ${n - WARNING_LINES} more like these not shown (${n} in all; build --events lists every one)\n`;
    }
    this.seen.clear();
    return out;
  }
}

interface Counts {
  done: number;
  cached: number;
  failed: number;
  running: number;
  /** When the first item of the stage was seen (ms), for its rate. */
  first: number;
}

const compact = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
const clock = (s: number): string => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s` : `${Math.ceil(s)}s`);

/**
 * A live one-line display, redrawn at most 10 times a second and never wider than the terminal:
 * elapsed time, the phase, overall progress (units with a known total, from `plan` events: the
 * repositories, then the shards) with percentage, rate and ETA, LLM calls and tokens, then each
 * stage's done/seen counts (busiest first; what does not fit is summarised as `+N stages`).
 * Item totals of the other stages are not known in advance (files are discovered as a source
 * is read), so they show the items seen so far.
 */
export class TtyReporter implements Reporter {
  private readonly counts = new Map<string, Counts>();
  private readonly totals = new Map<string, { total: number; done: number; first: number }>();
  private phase = '';
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;
  private tokens = 0;
  private readonly warnings = new WarningLines();
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  emit(e: BuildEvent): void {
    const now = Date.now();
    if (e.type === 'phase') this.phase = e.detail ? `${e.name} ${e.detail}` : e.name;
    if (e.type === 'warn') {
      const line = this.warnings.line(e);
      if (line) {
        this.clear();
        this.out.write(line);
      }
    }
    if (e.type === 'plan') this.totals.set(e.unit, { total: e.total, done: 0, first: now });
    if (e.type === 'progress') {
      const t = this.totals.get(e.unit);
      if (t) t.done += e.done ?? 1;
    }
    if (e.type === 'llm-usage') this.tokens += e.promptTokens + e.completionTokens;
    if (e.type === 'item-start' || e.type === 'item' || e.type === 'item-failed') {
      let c = this.counts.get(e.stage);
      if (!c) this.counts.set(e.stage, (c = { done: 0, cached: 0, failed: 0, running: 0, first: now }));
      if (e.type === 'item-start') c.running++;
      else if (e.type === 'item') {
        c.done++;
        if (e.cached) c.cached++;
        else c.running--;
      } else {
        c.failed++;
        c.running--;
      }
      const t = this.totals.get(e.stage);
      if (t && e.type !== 'item-start') t.done++;
    }
    this.draw(false);
  }

  /** Items finished (computed or answered from the cache) so far, over every stage. */
  finished(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c.done;
    return n;
  }

  /** The status line for a terminal `width` columns wide (exported for tests through draw). */
  line(width: number, now = Date.now()): string {
    const secs = (now - this.started) / 1000;
    const head = `[${clock(secs)}]${this.phase ? ` ${this.phase}` : ''}`;
    const segs: string[] = [];
    // Overall: the last unit with a known total that is not finished, else the last one.
    const units = [...this.totals];
    const unit = units.find(([, t]) => t.done < t.total) ?? units[units.length - 1];
    if (unit) {
      const [name, t] = unit;
      const pct = t.total ? Math.floor((100 * t.done) / t.total) : 100;
      const el = (now - t.first) / 1000;
      const rate = el > 0 ? t.done / el : 0;
      const eta = t.done > 0 && t.done < t.total ? ` ETA ${clock(((t.total - t.done) * el) / t.done)}` : '';
      segs.push(`${name} ${t.done}/${t.total} ${pct}%${rate > 0 && t.done < t.total ? ` ${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s` : ''}${eta}`);
    }
    const llm = this.counts.get('llm');
    if (llm) segs.push(`llm ${compact(llm.done)} calls${llm.cached ? ` (${compact(llm.cached)} cached)` : ''}${this.tokens ? ` ${compact(this.tokens)} tok` : ''}`);
    const stages = [...this.counts].filter(([n]) => n !== 'llm').sort((a, b) => b[1].running - a[1].running);
    const stageSeg = ([n, c]: [string, Counts], full: boolean): string => {
      const seen = c.done + c.failed + c.running;
      const el = (now - c.first) / 1000;
      const rate = full && c.running > 0 && el > 1 ? ` ${Math.round((c.done - c.cached) / el)}/s` : '';
      return `${n} ${compact(c.done)}/${compact(seen)}${full && c.cached ? ` (${compact(c.cached)} cached)` : ''}${c.failed ? ` !${c.failed}` : ''}${rate}`;
    };
    const fits = (parts: string[]) => [head, ...parts].join(' | ').length <= width - 1;
    let parts = segs.slice();
    if (!fits(parts)) parts = [];
    let k = 0;
    for (; k < stages.length; k++) {
      const rest = stages.length - k - 1;
      const suffix = rest > 0 ? [`+${rest} stages`] : [];
      const full = [...parts, stageSeg(stages[k], true)];
      const short = [...parts, stageSeg(stages[k], false)];
      if (fits([...full, ...suffix])) parts = full;
      else if (fits([...short, ...suffix])) parts = short;
      else break;
    }
    if (k < stages.length) parts.push(`+${stages.length - k} stages`);
    let text = [head, ...parts].join(' | ');
    if (text.length > width - 1) text = text.slice(0, Math.max(0, width - 2)) + '…';
    return text;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    this.out.write('\r\x1b[2K' + this.line(this.out.columns ?? 80, now));
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  done(): void {
    this.clear();
    const rest = this.warnings.rest();
    if (rest) this.out.write(rest);
  }
}

/**
 * Not a terminal: warnings, one line each; item failures too when `failures` is set (with --json,
 * whose stdout holds the summary). In text mode the summary lists each failure, so they are not
 * printed twice.
 */
export class PlainReporter implements Reporter {
  constructor(
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly failures = true,
  ) {}
  private items = 0;
  private readonly warnings = new WarningLines();
  emit(e: BuildEvent): void {
    if (e.type === 'warn') {
      const line = this.warnings.line(e);
      if (line) this.out.write(line);
    }
    if (e.type === 'item-failed' && this.failures) this.out.write(`error ${e.error} [${e.stage}]\n`);
    if (e.type === 'item') this.items++;
  }
  finished(): number {
    return this.items;
  }
  done(): void {
    const rest = this.warnings.rest();
    if (rest) this.out.write(rest);
  }
}

/**
 * Every event as one JSON line (`{"event":"item","stage":"llm",...}`), for tools and tests that
 * follow a build as it runs (`retrace build --events`). An `item` event is emitted only after the
 * item's result is stored, so it is a safe point to act on (e.g. to interrupt a build).
 */
export class EventLogReporter implements Reporter {
  constructor(private readonly inner: Reporter, private readonly out: NodeJS.WritableStream = process.stderr) {}
  emit(e: BuildEvent): void {
    const { type, ...rest } = e;
    this.out.write(JSON.stringify({ event: type, ...rest }) + '\n');
    this.inner.emit(e);
  }
  done(): void {
    this.inner.done();
  }
}
