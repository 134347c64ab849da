/**
 * Reporters: warnings are lines, at most WARNING_LINES of each code (the rest summed up at the
 * end), on a terminal and off it; `--events` keeps every one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { EventLogReporter, PlainReporter, TtyReporter, WARNING_LINES, type Reporter } from '../src/reporter.ts';

function sink(): { stream: Writable & { isTTY?: boolean; columns?: number }; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  return { stream, text: () => out };
}

function flood(r: Reporter, n: number): void {
  for (let i = 0; i < n; i++) r.emit({ type: 'warn', code: 'FILES_SKIPPED', item: `repo-${i}`, message: '1 file(s) skipped (FILE_MINIFIED 1)' });
  r.emit({ type: 'warn', code: 'SOURCE_EMPTY', item: 'empty-repo', message: 'no file left' });
}

for (const kind of ['plain', 'tty'] as const) {
  test(`${kind}: ${WARNING_LINES} warnings of a code are printed, the rest summed up in one line at the end`, () => {
    const s = sink();
    const r = kind === 'plain' ? new PlainReporter(s.stream) : new TtyReporter(s.stream as never);
    flood(r, WARNING_LINES + 7);
    r.done();
    // As a terminal shows it: the status line is drawn, then cleared (\r and an erase sequence) before a warning.
    const lines = s.text().split('\n').map((l) => l.slice(l.lastIndexOf('\r') + 1).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).filter((l) => l.startsWith('warning'));
    assert.is(lines.filter((l) => l.startsWith('warning FILES_SKIPPED repo-')).length, WARNING_LINES);
    assert.ok(lines.includes(`warning FILES_SKIPPED repo-${WARNING_LINES - 1}: 1 file(s) skipped (FILE_MINIFIED 1)`));
    assert.not.ok(lines.some((l) => l.startsWith(`warning FILES_SKIPPED repo-${WARNING_LINES}:`)), 'the 21st is not printed');
    assert.ok(lines.includes('warning SOURCE_EMPTY empty-repo: no file left'), 'another code has its own allowance');
    assert.equal(lines.slice(-1), ['warning FILES_SKIPPED: 7 more like these not shown (27 in all; build --events lists every one)']);
  });
}

test('a build with few warnings prints them all and no summary', () => {
  const s = sink();
  const r = new PlainReporter(s.stream);
  flood(r, 3);
  r.done();
  assert.is(s.text().split('\n').filter(Boolean).length, 4);
  assert.not.match(s.text(), 'not shown');
});

test('--events keeps every warning', () => {
  const events = sink();
  const r = new EventLogReporter(new PlainReporter(sink().stream), events.stream);
  flood(r, WARNING_LINES + 7);
  r.done();
  assert.is(events.text().split('\n').filter((l) => l.includes('"event":"warn"')).length, WARNING_LINES + 8);
});

test.run();
