/**
 * Checks for configuration values: each names the config path of a bad value
 * (`pipeline.config.ts → config.output.seqLen`) and says what was expected. Shared by the
 * engine's own keys (src/config.ts) and a pipeline's section of the config.
 */
import { RetraceError } from './errors.ts';

/** Checks one value found at config path `at`; throws CONFIG_INVALID naming it. */
export type Check = (v: unknown, at: string) => void;

export interface CheckKit {
  /** The config file, for checks of a pipeline's own that name it in their errors. */
  readonly file: string;
  /** Throw CONFIG_INVALID for the value at `at`. */
  bad(at: string, msg: string): never;
  obj(allowed: Record<string, Check>, required?: string[]): Check;
  str: Check;
  bool: Check;
  int(min: number, max?: number): Check;
  num(min: number, max: number): Check;
  oneOf(...opts: string[]): Check;
  list(item: Check, opts?: { min?: number }): Check;
}

export function checkKit(file: string): CheckKit {
  const bad = (at: string, msg: string): never => {
    throw new RetraceError('CONFIG_INVALID', msg, { item: `${file} → ${at}`, hint: 'fix the value in the config file; see README "Configuration"' });
  };
  const obj = (allowed: Record<string, Check>, required: string[] = []): Check => (v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(at, `expected an object, got ${describeValue(v)}`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!(k in allowed)) bad(`${at}.${k}`, `unknown key (known: ${Object.keys(allowed).join(', ')})`);
      if (o[k] !== undefined) allowed[k](o[k], `${at}.${k}`);
    }
    for (const k of required) if (o[k] === undefined) bad(`${at}.${k}`, 'is required');
  };
  return {
    file,
    bad,
    obj,
    str: (v, at) => {
      if (typeof v !== 'string' || v.length === 0) bad(at, `expected a non-empty string, got ${describeValue(v)}`);
    },
    bool: (v, at) => {
      if (typeof v !== 'boolean') bad(at, `expected true or false, got ${describeValue(v)}`);
    },
    int: (min, max = Number.MAX_SAFE_INTEGER) => (v, at) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(at, `expected an integer from ${min} to ${max}, got ${describeValue(v)}`);
    },
    num: (min, max) => (v, at) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(at, `expected a number from ${min} to ${max}, got ${describeValue(v)}`);
    },
    oneOf: (...opts) => (v, at) => {
      if (typeof v !== 'string' || !opts.includes(v)) bad(at, `expected one of ${opts.map((o) => `'${o}'`).join(', ')}, got ${describeValue(v)}`);
    },
    list: (item, opts = {}) => (v, at) => {
      if (!Array.isArray(v)) bad(at, `expected a list, got ${describeValue(v)}`);
      const l = v as unknown[];
      if (l.length < (opts.min ?? 0)) bad(at, `needs at least ${opts.min} item(s)`);
      l.forEach((x, i) => item(x, `${at}[${i}]`));
    },
  };
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
