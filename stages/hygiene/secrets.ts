/**
 * Secrets and personal data in source files: detection and redaction.
 *
 * Provider-specific rules come from secretlint's maintained recommended preset
 * (@secretlint/secretlint-rule-preset-recommend: AWS, GCP, GitHub, Slack, npm, OpenAI,
 * Anthropic, SendGrid, Shopify, Linear, 1Password, private key blocks, basic-auth URLs,
 * database connection strings). secretlint has no rule for GitLab and Stripe tokens, JWTs,
 * passwords / high-entropy strings assigned to secret-like names, or email addresses: those are
 * the few rules below, each written against the false positives a code corpus is full of
 * (lockfile integrity hashes, base64 test vectors, UUIDs, git@host URLs, image@2x.png names).
 *
 * A finding is a UTF-16 range of the decoded text and a kind; redaction replaces each range by
 * a typed placeholder (`<SECRET:aws-access-key>`, `<EMAIL>`), so every later Read and Write of
 * the file (all slices of the redacted bytes) shows the same placeholder.
 */
import type { lintSource as LintSource } from '@secretlint/core';

/** Bump when a rule changes what is found: it is part of the secrets stage's key. */
export const SECRET_RULES_VERSION = 'secretlint-recommend-11.7.1+retrace-1';

export interface SecretFinding {
  kind: string;
  /** UTF-16 offsets into the decoded text, [start, end). */
  start: number;
  end: number;
}

/** secretlint message ids -> placeholder kinds. */
const KIND_BY_MESSAGE: Record<string, string> = {
  AWSAccessKeyID: 'aws-access-key',
  AWSSecretAccessKey: 'aws-secret-key',
  AWSAccountID: 'aws-account-id',
  PrivateKey: 'private-key',
  GITHUB_TOKEN: 'github-token',
  GitHubToken: 'github-token',
};

function kindOf(ruleId: string, messageId: string | undefined): string {
  if (messageId && KIND_BY_MESSAGE[messageId]) return KIND_BY_MESSAGE[messageId]!;
  const rule = ruleId.replace(/^@secretlint\/secretlint-rule-/, '');
  const byRule: Record<string, string> = {
    aws: 'aws-key', gcp: 'gcp-key', npm: 'npm-token', slack: 'slack-token', basicauth: 'basic-auth',
    openai: 'openai-key', anthropic: 'anthropic-key', linear: 'linear-key', privatekey: 'private-key',
    sendgrid: 'sendgrid-key', shopify: 'shopify-token', github: 'github-token', '1password': '1password-key',
    'database-connection-string': 'db-credentials',
  };
  return byRule[rule] ?? rule;
}

// secretlint loads on first use (~20 modules): a build answered from the cache never needs it.
let secretlint: Promise<{ lintSource: typeof LintSource; config: object }> | undefined;
function loadSecretlint(): Promise<{ lintSource: typeof LintSource; config: object }> {
  secretlint ??= Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]).then(([core, preset]) => ({
    lintSource: core.lintSource,
    config: {
      rules: [
        {
          id: '@secretlint/secretlint-rule-preset-recommend',
          rule: preset.creator,
          // The access key id alone is a credential half: scan for it too.
          rules: [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }],
        },
      ],
    },
  }));
  return secretlint;
}

async function secretlintFindings(text: string, path: string): Promise<SecretFinding[]> {
  const ext = path.includes('.') ? path.slice(path.lastIndexOf('.')) : '';
  const { lintSource, config: SECRETLINT_CONFIG } = await loadSecretlint();
  const r = await lintSource({
    // secretlint's profiler names performance marks after the path and parses them back with a
    // regular expression that stops at a line break: a file name holding one made it throw an
    // unhandled rejection. The path only labels messages here, so line breaks are replaced.
    source: { content: text, filePath: '/' + path.replace(/[\r\n\u2028\u2029]/g, '_'), ext, contentType: 'text' },
    options: { config: SECRETLINT_CONFIG as never, maskSecrets: false },
  });
  const out: SecretFinding[] = [];
  for (const m of r.messages) {
    let [start, end] = m.range as [number, number];
    // Some rules report the range of the whole assignment (`AWS_SECRET_ACCESS_KEY = "..."`) or
    // start it at the name; the secret itself is in `data`: narrow the range to it.
    const value = Object.values((m as { data?: Record<string, unknown> }).data ?? {}).find((v): v is string => typeof v === 'string' && v.length >= 8);
    if (value) {
      const at = text.indexOf(value, Math.max(0, start - value.length));
      if (at >= 0 && at <= end + value.length) {
        start = at;
        end = at + value.length;
      }
    }
    out.push({ kind: kindOf(m.ruleId, m.messageId), start, end });
  }
  return out;
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Values that are obviously not secrets: interpolations, env lookups, placeholders, masks. */
const PLACEHOLDER = /\$\{|\{\{|process\.env|os\.environ|getenv|^<.*>$|^\*+$|^x+$|changeme|your[-_]?(api[-_]?)?(key|token|secret|password)|example|dummy|placeholder|redacted|^(true|false|null|undefined|none)$/i;

interface Rule {
  kind: string;
  re: RegExp;
  /** Capture group holding the secret (default: the whole match). */
  group?: number;
  accept?: (value: string) => boolean;
}

const classes = (v: string) => [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(v)).length;

const RULES: Rule[] = [
  { kind: 'gitlab-token', re: /\bglpat-[0-9A-Za-z_-]{20}\b/g },
  { kind: 'stripe-key', re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99}\b/g },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g },
  {
    // password = "…" / "password": "…" / PASSWORD='…' (also in YAML/INI as `password: …`).
    kind: 'password',
    re: /\b[A-Za-z_]*(?:password|passwd|pwd)\b["']?\s*(?::|=|:=)\s*["']([^"'\s]{6,128})["']/gi,
    group: 1,
    // A word ("Password", "secret_field") is a label, not a password.
    accept: (v) => !PLACEHOLDER.test(v) && !/^[A-Za-z_.-]+$/.test(v) && classes(v) >= 2 && entropy(v) >= 2.5,
  },
  {
    // A high-entropy literal assigned to a secret-like name (api_key, secret, token, …).
    kind: 'generic-secret',
    re: /\b[A-Za-z_]*(?:secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?)\b["']?\s*(?::|=|:=)\s*["']([A-Za-z0-9+/=_.~-]{16,256})["']/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !UUID.test(v) && classes(v) >= 2 && entropy(v) >= 3.5,
  },
  {
    kind: 'email',
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.([A-Za-z]{2,24})\b/g,
    // git@github.com:owner/repo is a URL, not an address; name@2x.png is an image.
    accept: (v) => !/^git@/i.test(v) && !/@\d+x\./i.test(v) && !/\.(png|jpe?g|gif|svg|webp|js|mjs|cjs|ts|tsx|jsx|css|json|md|py|html?)$/i.test(v),
  },
];

function ruleFindings(text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    for (const m of text.matchAll(rule.re)) {
      const value = rule.group ? m[rule.group]! : m[0];
      if (rule.accept && !rule.accept(value)) continue;
      const start = rule.group ? m.index! + m[0].lastIndexOf(value) : m.index!;
      out.push({ kind: rule.kind, start, end: start + value.length });
    }
  }
  return out;
}

/**
 * Every secret in `text`, sorted, without overlaps (of two overlapping findings the earlier,
 * then the longer, is kept: a private key block wins over a token inside it).
 */
export async function findSecrets(text: string, path: string): Promise<SecretFinding[]> {
  const all = [...(await secretlintFindings(text, path)), ...ruleFindings(text)];
  all.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: SecretFinding[] = [];
  for (const f of all) {
    const last = out[out.length - 1];
    if (last && f.start < last.end) continue;
    if (f.end > f.start) out.push(f);
  }
  return out;
}

export function placeholder(kind: string): string {
  return kind === 'email' ? '<EMAIL>' : `<SECRET:${kind}>`;
}

/** The text with each finding replaced by its placeholder. */
export function redact(text: string, findings: readonly SecretFinding[]): string {
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + placeholder(f.kind);
    at = f.end;
  }
  return out + text.slice(at);
}

export function countByKind(findings: readonly SecretFinding[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of findings) out[f.kind] = (out[f.kind] ?? 0) + 1;
  return out;
}
