/**
 * The search's pure parts: the offline cache language model (real identifiers beat generic
 * words, leave-one-out background, determinism), the offline generator's candidates, fitting a
 * long text into a scoring context, and the manifest summary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './fixtures/trajectory/harness.ts';
import { scoreOffline, unigramOf } from '../stages/search/offline-lm.ts';
import { alternativeThought, salientSentences, type ThoughtContext } from '../stages/search/offline-thoughts.ts';
import { fitContext } from '../stages/search/context.ts';
import { scoredText } from '../stages/search/prefix.ts';
import { summarize, type StepRecord } from '../stages/search/record.ts';
import { loadLlama3Tokenizer } from '../stages/tokenize/llama3.ts';
import type { FileBrief } from '../stages/plan/brief.ts';

const read = (p: string) => readFileSync(join(FIXTURES, p), 'utf8');
const FORMAT = read('calc/src/format.js');
const OTHERS = [read('calc/src/math.js'), read('calc/src/index.js'), read('notes/lib/store.mjs'), read('notes/lib/cli.mjs')];
const step = { before: 'Repository: calc\n\n### 2/3 src/format.js\nThink: ', after: '\nAction: Write src/format.js\n', target: FORMAT };
const background = unigramOf([...OTHERS, FORMAT]);
const score = (thought: string, bg = background) => scoreOffline({ ...scoredText(step, thought), background: bg });

test('offline LM: a thought naming the file\'s identifiers and APIs beats generic or unrelated words', () => {
  const names = [...new Set(FORMAT.match(/[A-Za-z_]\w{2,}/g) ?? [])].slice(0, 8).join(' ');
  const real = score(`Write the formatter with ${names}.`);
  const generic = score('Write the file carefully, step by step, with clear code and tests.');
  const unrelated = score(`Write the formatter with ${names} and alpha bravo charlie delta echo foxtrot golf hotel india juliet.`);
  assert.ok(real.logprob > generic.logprob, `${real.logprob} <= ${generic.logprob}`);
  assert.ok(real.logprob > unrelated.logprob, 'padding with unrelated words did not cost');
  assert.is(real.tokens, generic.tokens);
  assert.equal(score(`Write the formatter with ${names}.`), real, 'not deterministic');
  assert.ok(Number.isFinite(generic.logprob) && generic.logprob < 0);
});

/** The documented formula, written plainly: the model must agree with it. */
function reference(thought: string, corpus: string[]): number {
  const toks = (t: string): string[] => t.match(/\s+|\w+|[^\w\s]/g) ?? [];
  const count = (ts: string[], t: string) => ts.filter((x) => x === t).length;
  const spell = (t: string) => {
    const geo = (q: number) => q * (1 - q) ** (t.length - 1);
    if (/^\s/.test(t)) return 0.3 * geo(0.5) * 4 ** -t.length;
    if (/^\w+$/.test(t)) return 0.45 * geo(1 / 6) * 63 ** -t.length;
    return 0.25 / (t.charCodeAt(0) < 128 ? 64 : 65536);
  };
  const bg = corpus.flatMap(toks);
  const words = toks(thought).filter((t) => /^\w+$/.test(t));
  const history = toks(step.before + thought + step.after);
  let lp = 0;
  for (const t of toks(step.target)) {
    const p = 0.2 * (words.length ? count(words, t) / words.length : 0) + 0.3 * (count(history, t) / history.length) + 0.5 * ((count(bg, t) + spell(t)) / (bg.length + 1));
    lp += Math.log(Math.max(p, 1 / 128_256)); // the uniform floor
    history.push(t);
  }
  return lp;
}

test('offline LM: agrees with the documented formula, the background leaving the scored file out', () => {
  const thought = 'Format the value with format(value) and sum.';
  // The repository's corpus holds the scored file; its own counts are subtracted (leave-one-out).
  assert.ok(Math.abs(score(thought).logprob - reference(thought, OTHERS)) < 1e-6, `${score(thought).logprob} != ${reference(thought, OTHERS)}`);
});

const brief: FileBrief = {
  path: 'src/format.js',
  language: 'javascript',
  lines: 12,
  definitions: ['function format(value)', 'function pad(text, width)', 'function unit(name)', 'function round(x, digits)'],
  moreDefinitions: 0,
  docs: ['format: Formats a result for display.'],
  exports: ['format'],
  deps: [{ path: 'src/math.js', names: ['sum'] }],
  external: [],
  usedBy: 1,
};

test('offline generator: K different candidates per iteration, walking the facts with the iteration', () => {
  const ctx = (current: string, iteration: number, candidate: number): ThoughtContext => ({ kind: 'thought', file: brief, current, iteration, candidate, candidates: 2 });
  const sentences = salientSentences(brief);
  assert.equal(sentences[0], 'It defines format(value), pad(text, width), unit(name).');
  const a = alternativeThought(ctx('Write it.', 1, 0));
  const b = alternativeThought(ctx('Write it.', 1, 1));
  const c = alternativeThought(ctx('Write it.', 2, 0));
  assert.is.not(a, b);
  assert.is.not(a, c);
  assert.ok(a.startsWith('Write it. ') && a.length > 'Write it.'.length);
  const all = `Write it. ${sentences.join(' ')}`;
  assert.is(alternativeThought(ctx(all, 3, 1)), all, 'nothing left to add: the thought stays');
});

test('fitContext: short texts pass unchanged; long ones lose the prefix\'s start, and a long target its end', async () => {
  const tok = await loadLlama3Tokenizer();
  const short = scoredText(step, 'Short.');
  assert.equal(await fitContext(short.prompt, short.targetStart, 8192), { prompt: short.prompt, targetStart: short.targetStart, prefixTokensDropped: 0, targetTokensDropped: 0 });

  const long = scoredText({ ...step, before: OTHERS.join('\n') + step.before }, 'Format the value.');
  const fit = await fitContext(long.prompt, long.targetStart, 256);
  assert.ok(tok.encodeOrdinary(fit.prompt).length <= 255);
  assert.ok(fit.prefixTokensDropped > 0);
  assert.is(fit.targetTokensDropped, 0);
  assert.ok(long.prompt.slice(0, long.targetStart).endsWith(fit.prompt.slice(0, fit.targetStart)), 'the kept prefix is not the end of the prefix');
  assert.is(fit.prompt.slice(fit.targetStart), FORMAT);

  const tight = await fitContext(long.prompt, long.targetStart, 64);
  assert.ok(tight.targetTokensDropped > 0);
  assert.ok(FORMAT.startsWith(tight.prompt.slice(tight.targetStart)), 'the kept target is not the start of the target');
  assert.ok(tok.encodeOrdinary(tight.prompt).length <= 63);
});

test('offline LM: a file of symbols no other file uses scores finite, at most 128,256 per token (the uniform floor)', () => {
  // Long identifiers found nowhere else: the spelling model alone would give each a probability
  // far below 1/128,256.
  const alien = Array.from({ length: 40 }, (_, i) => `zq${i}x${'Qv9'.repeat(12)}_${(i * 7919).toString(36)}`).join(' ') + '\n';
  const s = scoreOffline({ ...scoredText({ before: 'Repository: r\n\n### 1/1 a.js\nThink: ', after: '\nAction: Write a.js\n', target: alien }, 'Write it.'), background: unigramOf(OTHERS) });
  const ppl = Math.exp(-s.logprob / s.tokens);
  assert.ok(Number.isFinite(ppl), String(ppl));
  assert.ok(ppl <= 128_256, String(ppl));
  assert.ok(s.logprob >= -s.tokens * Math.log(128_256) - 1e-9);
  assert.ok(ppl > 100, `not surprising: ${ppl}`);
  const st = summarize([{ item: 'r:a.js', doc: 'r', initial: { chars: 9, logprob: s.logprob, tokens: s.tokens, ppl }, iterations: [], final: { chars: 9, logprob: s.logprob, tokens: s.tokens, ppl, thought: 'Write it.' }, truncated: { prefixTokens: 0, targetTokens: 0 } }]);
  assert.ok(st.codePplBefore! <= 128_256 && Number.isFinite(st.codePplBefore!));
});

test('summary: independent of the order steps finished in; acceptance per iteration', () => {
  const rec = (item: string, before: number, after: number, accepted: Array<number | null>): StepRecord => {
    const st = (logprob: number, chars: number) => ({ chars, logprob, tokens: 10, ppl: Math.exp(-logprob / 10) });
    return {
      item,
      doc: item.split(':')[0]!,
      initial: st(before, 10),
      iterations: accepted.map((a, i) => ({ iteration: i + 1, candidates: [st(before, 12), st(before, 14)], accepted: a, after: st(after, 20) })),
      final: { ...st(after, 20), thought: 'x' },
      truncated: { prefixTokens: 0, targetTokens: 0 },
    };
  };
  const rs = [rec('a:x.js', -30, -20, [0, null, 1]), rec('a:y.js', -25, -25, [null, null, null]), rec('b:z.js', -40.3, -31.7, [1, 0, null])];
  const s = summarize(rs);
  assert.equal(summarize([rs[2]!, rs[0]!, rs[1]!]), s);
  assert.is(s.steps, 3);
  assert.is(s.candidatesScored, 18);
  assert.is(s.accepted, 4);
  assert.is(s.acceptanceRate, 4 / 9);
  assert.ok(s.codePplAfter! < s.codePplBefore!);
  // Pooled: exp(total NLL / total tokens), not a mean of per-step perplexities.
  assert.ok(Math.abs(s.codePplBefore! - Math.exp((30 + 25 + 40.3) / 30)) < 1e-9, String(s.codePplBefore));
  assert.ok(Math.abs(s.codePplAfter! - Math.exp((20 + 25 + 31.7) / 30)) < 1e-9, String(s.codePplAfter));
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9 * b, `${a} != ${b}`);
  near(s.stepPplBefore!.median, Math.exp(3));
  near(s.stepPplBefore!.p90, Math.exp(4.03));
  near(s.stepPplAfter!.median, Math.exp(2.5));
  near(s.stepPplAfter!.p90, Math.exp(3.17));
  assert.is(s.meanThoughtCharsBefore, 10);
  assert.is(s.meanThoughtCharsAfter, 20);
});

test.run();
