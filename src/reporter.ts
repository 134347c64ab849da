/**
 * Progress and results travel as events to a reporter, never as console.log calls inside the
 * engine. The TTY reporter draws one status line on stderr; with --json or when stderr is not a
 * terminal, progress stays quiet and only warnings and the final summary are printed.
 */
import type { ErrorCode } from './errors.ts';

export type BuildEvent =
  | { type: 'item-start'; stage: string; item: string }
  | { type: 'item'; stage: string; item: string; cached: boolean; ms?: number }
  | { type: 'item-failed'; stage: string; item: string; error: string }
  | { type: 'warn'; code: ErrorCode; item: string; message: string }
  | { type: 'phase'; name: string; detail?: string }
  | { type: 'llm'; kind: string; item?: string; detail?: string };

export interface Reporter {
  emit(event: BuildEvent): void;
  /** Called once at the end: clear any live display. */
  done(): void;
}

export class NullReporter implements Reporter {
  readonly events: BuildEvent[] = [];
  constructor(private readonly keep = false) {}
  emit(event: BuildEvent): void {
    if (this.keep) this.events.push(event);
  }
  done(): void {}
}

interface Counts {
  done: number;
  cached: number;
  failed: number;
  running: number;
}

/** A live one-line display of per-stage counts, redrawn at most 10 times a second. */
export class TtyReporter implements Reporter {
  private readonly counts = new Map<string, Counts>();
  private phase = '';
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  emit(e: BuildEvent): void {
    if (e.type === 'phase') this.phase = e.detail ? `${e.name} ${e.detail}` : e.name;
    if (e.type === 'warn') {
      this.clear();
      this.out.write(`warning ${e.code} ${e.item}: ${e.message}\n`);
    }
    if (e.type === 'item-failed') {
      this.clear();
      this.out.write(`error ${e.error} [${e.stage}]\n`);
    }
    if (e.type === 'item-start' || e.type === 'item' || e.type === 'item-failed') {
      let c = this.counts.get(e.stage);
      if (!c) this.counts.set(e.stage, (c = { done: 0, cached: 0, failed: 0, running: 0 }));
      if (e.type === 'item-start') c.running++;
      else if (e.type === 'item') {
        c.done++;
        if (e.cached) c.cached++;
        else c.running--;
      } else {
        c.failed++;
        c.running--;
      }
    }
    this.draw(false);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const parts = [...this.counts].map(([s, c]) => `${s} ${c.done}${c.cached ? ` (${c.cached} cached)` : ''}${c.running > 0 ? ` +${c.running}` : ''}${c.failed ? ` !${c.failed}` : ''}`);
    const secs = ((now - this.started) / 1000).toFixed(1);
    let line = `[${secs}s] ${this.phase ? this.phase + ' | ' : ''}${parts.join(' · ')}`;
    const width = this.out.columns ?? 120;
    if (line.length > width - 1) line = line.slice(0, width - 2) + '…';
    this.out.write('\r\x1b[2K' + line);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  done(): void {
    this.clear();
  }
}

/** Not a terminal: warnings and failures only, one line each. */
export class PlainReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}
  emit(e: BuildEvent): void {
    if (e.type === 'warn') this.out.write(`warning ${e.code} ${e.item}: ${e.message}\n`);
    if (e.type === 'item-failed') this.out.write(`error ${e.error} [${e.stage}]\n`);
  }
  done(): void {}
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
