/**
 * A repository's license as an SPDX expression.
 *
 * In order: package.json `license` (a string, or the old `{ type }` form), pyproject.toml
 * `[project] license` (a string or `{ text }`), setup.cfg `[metadata] license`, then the text of
 * a root LICENSE / LICENCE / COPYING file matched against the SPDX license texts shipped by
 * spdx-license-list. Declared values are checked and normalised with spdx-expression-parse and
 * spdx-correct ("Apache 2" -> "Apache-2.0"). A text matches the SPDX license whose text shares
 * the most word bigrams with it (Dice coefficient, at least MATCH_THRESHOLD), so copyright lines
 * and reflowed paragraphs do not matter. A GPL text alone cannot say "or later" (that is in the
 * file headers), so it maps to the `-only` id.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Loaded on first use: spdx-correct's load alone is a sizeable part of a no-op build's start.
const parseSpdx = (s: string): SpdxNode => (require('spdx-expression-parse') as (s: string) => SpdxNode)(s);
const correctSpdx = (s: string, o?: { upgrade?: boolean }): string | null => (require('spdx-correct') as (s: string, o?: { upgrade?: boolean }) => string | null)(s, o);

type SpdxNode = { license: string; plus?: boolean; exception?: string } | { left: SpdxNode; conjunction: 'and' | 'or'; right: SpdxNode };

/** Bump when detection changes: part of the license stage's key. */
export const LICENSE_DETECTOR_VERSION = 'spdx-license-list-6.12.0+dice-bigram-1';
export const MATCH_THRESHOLD = 0.8;

export interface LicenseResult {
  /** SPDX expression, or undefined when nothing was found. */
  license?: string;
  /** Where it came from: `package.json`, `LICENSE (text, 0.97)`... */
  from?: string;
}

/** Root files the detector reads, by priority. */
export function isLicenseInput(path: string): boolean {
  return !path.includes('/') && (/^(package\.json|pyproject\.toml|setup\.cfg)$/.test(path) || /^(licen[cs]e|copying|unlicense)([.-].*)?$/i.test(path));
}

function normalizeExpression(raw: string): string | undefined {
  const s = raw.trim();
  if (!s || /^(unlicensed|see license in)/i.test(s)) return undefined;
  try {
    parseSpdx(s);
    return s;
  } catch {
    const c = correctSpdx(s, { upgrade: true });
    return c ?? undefined;
  }
}

function fromPackageJson(text: string): string | undefined {
  try {
    const pkg = JSON.parse(text) as { license?: unknown; licenses?: unknown };
    const l = pkg.license ?? (Array.isArray(pkg.licenses) ? pkg.licenses[0] : undefined);
    if (typeof l === 'string') return normalizeExpression(l);
    if (l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string') return normalizeExpression((l as { type: string }).type);
  } catch {
    // an invalid package.json declares nothing
  }
  return undefined;
}

function fromPyproject(text: string): string | undefined {
  const project = /^\[project\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1];
  if (!project) return undefined;
  const direct = /^license\s*=\s*["']([^"']+)["']/m.exec(project)?.[1];
  if (direct) return normalizeExpression(direct);
  const table = /^license\s*=\s*\{[^}]*\btext\s*=\s*["']([^"']+)["']/m.exec(project)?.[1];
  return table ? normalizeExpression(table) : undefined;
}

function fromSetupCfg(text: string): string | undefined {
  const meta = /^\[metadata\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1];
  const v = meta && /^license\s*=\s*(.+)$/m.exec(meta)?.[1];
  return v ? normalizeExpression(v) : undefined;
}

function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/<[^>]*>/g, ' ') // template placeholders in the SPDX texts
    .split('\n')
    .filter((l) => !/^\s*(copyright|\(c\)|©)/.test(l))
    .join(' ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

function bigrams(text: string): Set<string> {
  const w = words(text);
  const out = new Set<string>();
  for (let i = 0; i + 1 < w.length; i++) out.add(w[i] + ' ' + w[i + 1]);
  return out;
}

let templates: Array<{ id: string; grams: Set<string> }> | undefined;

function loadTemplates(): Array<{ id: string; grams: Set<string> }> {
  if (templates) return templates;
  const full = require('spdx-license-list/spdx-full.json') as Record<string, { licenseText: string }>;
  const deprecated = new Set(require('spdx-license-ids/deprecated.json') as string[]);
  templates = Object.entries(full)
    .filter(([id]) => !deprecated.has(id))
    .map(([id, l]) => ({ id, grams: bigrams(l.licenseText) }))
    .filter((t) => t.grams.size > 0);
  return templates;
}

/** The SPDX id whose license text `text` is (best Dice score over word bigrams), if any reaches the threshold. */
export function matchLicenseText(text: string): { id: string; score: number } | undefined {
  const g = bigrams(text);
  if (g.size < 10) return undefined;
  let best: { id: string; score: number } | undefined;
  for (const t of loadTemplates()) {
    // Cheap bound first: Dice <= 2*min/(a+b).
    if ((2 * Math.min(g.size, t.grams.size)) / (g.size + t.grams.size) < MATCH_THRESHOLD) continue;
    let common = 0;
    const [small, large] = g.size < t.grams.size ? [g, t.grams] : [t.grams, g];
    for (const x of small) if (large.has(x)) common++;
    const score = (2 * common) / (g.size + t.grams.size);
    // Ties (identical texts: GPL-3.0-only / -or-later) go to `-only`, then to the shorter id.
    const better = !best || score > best.score + 1e-9 || (Math.abs(score - best.score) <= 1e-9 && (t.id.endsWith('-only') || (!best.id.endsWith('-only') && t.id.length < best.id.length)));
    if (better) best = { id: t.id, score };
  }
  return best && best.score >= MATCH_THRESHOLD ? best : undefined;
}

/** Detects the license from the repository's root files (path -> text). */
export function detectLicense(files: ReadonlyMap<string, string>): LicenseResult {
  const pkg = files.get('package.json');
  const declared =
    (pkg !== undefined && { license: fromPackageJson(pkg), from: 'package.json' }) ||
    undefined;
  if (declared?.license) return declared;
  const py = files.get('pyproject.toml');
  const fromPy = py !== undefined ? fromPyproject(py) : undefined;
  if (fromPy) return { license: fromPy, from: 'pyproject.toml' };
  const cfg = files.get('setup.cfg');
  const fromCfg = cfg !== undefined ? fromSetupCfg(cfg) : undefined;
  if (fromCfg) return { license: fromCfg, from: 'setup.cfg' };
  const texts = [...files.keys()].filter((p) => !/^(package\.json|pyproject\.toml|setup\.cfg)$/.test(p)).sort();
  for (const path of texts) {
    const m = matchLicenseText(files.get(path)!);
    if (m) return { license: m.id, from: `${path} (text, ${m.score.toFixed(2)})` };
  }
  return {};
}

/** Is the license expression allowed by `allow`? OR: any branch; AND: every branch. `GPL-3.0` allows `GPL-3.0-only`/`-or-later`. */
export function licenseAllowed(expression: string, allow: readonly string[]): boolean {
  const ok = (id: string) =>
    allow.some((a) => a === id || id === `${a}-only` || id === `${a}-or-later` || a === `${id}-only` || a === id.replace(/\+$/, ''));
  const walk = (n: SpdxNode): boolean =>
    'license' in n ? ok(n.license + (n.plus ? '+' : '')) || ok(n.license) : n.conjunction === 'or' ? walk(n.left) || walk(n.right) : walk(n.left) && walk(n.right);
  try {
    return walk(parseSpdx(expression));
  } catch {
    return allow.includes(expression);
  }
}
