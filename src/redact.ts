/**
 * Credentials never leave the process in a URL (issue 19): `https://user:token@host/x` and
 * `?token=...`-style query values are stripped before a URL is written to a manifest, a `--json`
 * summary, a warning or an error. Works on whole messages as well as on bare URLs.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@?#]+@/gi;
const SECRET_QUERY = /([?&](?:access_token|token|api[_-]?key|key|password|passwd|secret|sig|signature|x-amz-signature|x-amz-credential|auth)=)[^&#\s]*/gi;

export function redactUrl(text: string): string {
  return text.replace(USERINFO, '$1').replace(SECRET_QUERY, '$1REDACTED');
}

/** A copy of a plain JSON value with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  return value;
}
