/**
 * The `hygiene` config section: types, defaults and validation (issue 15). Kept here, not in
 * src/config.ts, so the section moves with the pipeline.
 *
 *   hygiene: {
 *     dedup?: 'exact' | 'near' | 'off',                 // 'exact'
 *     licenses?: { allow?: string[], unknown?: 'keep' | 'skip' },  // keep everything; unknown 'keep'
 *     secrets?: 'redact' | 'skip-file' | 'off',         // 'redact'
 *     decontaminate?: { files: string[], ngram?: number }, // ngram 13
 *   }
 */
import { resolve } from 'node:path';
import { RetraceError } from '../../src/errors.ts';

export interface HygieneConfig {
  /** 'exact' (default): byte-identical files are written once; 'near': also MinHash/LSH near-duplicates (files and repositories). */
  dedup?: 'exact' | 'near' | 'off';
  /** License filter: SPDX ids to keep (`allow`), and what to do with a repository whose license is unknown. */
  licenses?: { allow?: string[]; unknown?: 'keep' | 'skip' };
  /** 'redact' (default): secrets and emails become typed placeholders; 'skip-file': such files are left out; 'off'. */
  secrets?: 'redact' | 'skip-file' | 'off';
  /** Benchmark files (JSONL with text fields, or plain text; relative to the config file). */
  decontaminate?: { files: string[]; ngram?: number };
}

export interface HygieneSettings {
  dedup: 'exact' | 'near' | 'off';
  licenses: { allow?: string[]; unknown: 'keep' | 'skip' };
  secrets: 'redact' | 'skip-file' | 'off';
  /** Absolute paths. */
  decontaminate?: { files: string[]; ngram: number };
}

export const DEFAULT_NGRAM = 13;

function bad(at: string, msg: string, file: string): never {
  throw new RetraceError('CONFIG_INVALID', msg, { item: `${file} → ${at}`, hint: 'fix the value in the config file; see README "Data hygiene"' });
}

const show = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : JSON.stringify(v));

function keys(v: unknown, at: string, allowed: string[], file: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(at, `expected an object, got ${show(v)}`, file);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${at}.${k}`, `unknown key (known: ${allowed.join(', ')})`, file);
  return o;
}

function oneOf<T extends string>(v: unknown, at: string, opts: readonly T[], file: string): T {
  if (typeof v !== 'string' || !opts.includes(v as T)) bad(at, `expected one of ${opts.map((o) => `'${o}'`).join(', ')}, got ${show(v)}`, file);
  return v as T;
}

function strings(v: unknown, at: string, file: string): string[] {
  if (!Array.isArray(v)) bad(at, `expected a list of strings, got ${show(v)}`, file);
  (v as unknown[]).forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) bad(`${at}[${i}]`, `expected a non-empty string, got ${show(s)}`, file);
  });
  return v as string[];
}

/** Validates `config.hygiene` (throws CONFIG_INVALID naming the path of the bad value). */
export function readHygieneConfig(raw: unknown, at = 'config.hygiene', file = 'pipeline.config.ts'): HygieneConfig {
  if (raw === undefined) return {};
  const o = keys(raw, at, ['dedup', 'licenses', 'secrets', 'decontaminate'], file);
  if (o.dedup !== undefined) oneOf(o.dedup, `${at}.dedup`, ['exact', 'near', 'off'], file);
  if (o.secrets !== undefined) oneOf(o.secrets, `${at}.secrets`, ['redact', 'skip-file', 'off'], file);
  if (o.licenses !== undefined) {
    const l = keys(o.licenses, `${at}.licenses`, ['allow', 'unknown'], file);
    if (l.allow !== undefined) strings(l.allow, `${at}.licenses.allow`, file);
    if (l.unknown !== undefined) oneOf(l.unknown, `${at}.licenses.unknown`, ['keep', 'skip'], file);
  }
  if (o.decontaminate !== undefined) {
    const d = keys(o.decontaminate, `${at}.decontaminate`, ['files', 'ngram'], file);
    if (d.files === undefined) bad(`${at}.decontaminate.files`, 'is required', file);
    strings(d.files, `${at}.decontaminate.files`, file);
    if (d.ngram !== undefined && (typeof d.ngram !== 'number' || !Number.isInteger(d.ngram) || d.ngram < 3 || d.ngram > 64)) {
      bad(`${at}.decontaminate.ngram`, `expected an integer from 3 to 64, got ${show(d.ngram)}`, file);
    }
  }
  return raw as HygieneConfig;
}

/** Defaults filled in; benchmark paths made absolute against the config's folder. */
export function resolveHygiene(cfg: HygieneConfig | undefined, configDir: string): HygieneSettings {
  const c = cfg ?? {};
  return {
    dedup: c.dedup ?? 'exact',
    licenses: { ...(c.licenses?.allow ? { allow: [...c.licenses.allow] } : {}), unknown: c.licenses?.unknown ?? 'keep' },
    secrets: c.secrets ?? 'redact',
    decontaminate: c.decontaminate && c.decontaminate.files.length > 0
      ? { files: c.decontaminate.files.map((f) => resolve(configDir, f)), ngram: c.decontaminate.ngram ?? DEFAULT_NGRAM }
      : undefined,
  };
}
