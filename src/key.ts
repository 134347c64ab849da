/**
 * Action keys. A key is the hash of a structured, canonical description of everything that can
 * change a stage's output for one item: the stage's name and version, the item's input content
 * hashes, and only those settings that can change this output. Field order is fixed (stage,
 * version, inputs, settings), inputs keep the order the stage declares them in, nested settings
 * objects are canonicalised with sorted keys, and empty fields are kept, never dropped. The parts
 * are recorded with each result so `retrace explain` can say which part changed.
 */
import { hashKey, TextHasher, type ActionKey, type ContentHash } from './hash.ts';

export interface KeyParts {
  /** Stage name: different stages never share results. */
  stage: string;
  /** Stage version: bumped when the stage's code changes what it produces. */
  version: string;
  /** Input content hashes (or other content-derived identities), in the stage's declared order. */
  inputs: Record<string, string>;
  /** Settings that can change this output, and nothing else (no paths, mtimes, worker counts). */
  settings: Record<string, unknown>;
}

/**
 * JSON with object keys sorted at every level; arrays keep their order. Loops and `+=` rather than
 * map/filter/join, keys already in order not sorted again, quoted keys remembered: the same text
 * in half the time (a manifest of a million sources is hashed through it).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined) return 'null';
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot key non-finite number ${value}`);
    if (typeof value === 'bigint') return JSON.stringify(value.toString());
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) s += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return s + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    let q = quotedKeys.get(k);
    if (q === undefined) {
      q = JSON.stringify(k) + ':';
      if (quotedKeys.size < 4096) quotedKeys.set(k, q);
    }
    s += (first ? q : ',' + q) + canonicalJson(v);
    first = false;
  }
  return s + '}';
}
/** `"key":` of keys seen (a bounded number: keys are mostly a schema's field names). */
const quotedKeys = new Map<string, string>();

/**
 * `hashText(canonicalJson(list))`, streamed: element by element, never the whole JSON text at
 * once (a trajectory's priced sections are tens of MB for a large repository: issue 17). An
 * object element's canonical UTF-8 bytes are kept for as long as it lives, so a list that grows
 * by appending (a conversation, turn by turn, rendered into one request per turn) is serialised
 * once per element, not once per request (re-serialising every earlier message was ~3.5 s of the
 * main thread of a 437-package trajectory build). Elements must not change once hashed.
 */
export function hashCanonicalList(list: readonly unknown[]): ContentHash {
  const h = new TextHasher().updateText('[');
  for (let k = 0; k < list.length; k++) {
    const el = list[k];
    if (el === null || typeof el !== 'object') {
      h.updateText((k > 0 ? ',' : '') + canonicalJson(el));
      continue;
    }
    if (k > 0) h.updateText(',');
    let bytes = canonicalBytes.get(el);
    if (!bytes) canonicalBytes.set(el, (bytes = utf8.encode(canonicalJson(el))));
    h.updateBytes(bytes);
  }
  return h.updateText(']').digest();
}
const canonicalBytes = new WeakMap<object, Uint8Array>();
const utf8 = new TextEncoder();

/** The canonical serialisation: fixed top-level order, declared input order, sorted settings. */
export function serializeKey(parts: KeyParts): string {
  const inputs = Object.entries(parts.inputs).map(([k, v]) => JSON.stringify(k) + ':' + JSON.stringify(v));
  return (
    '{"stage":' + JSON.stringify(parts.stage) +
    ',"version":' + JSON.stringify(parts.version) +
    ',"inputs":{' + inputs.join(',') + '}' +
    ',"settings":' + canonicalJson(parts.settings) + '}'
  );
}

export function actionKey(parts: KeyParts): ActionKey {
  return hashKey(serializeKey(parts));
}

export interface KeyChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** Which parts differ between two keys, field by field (used by `explain` and `status`). */
export function diffKeyParts(before: KeyParts, after: KeyParts): KeyChange[] {
  const changes: KeyChange[] = [];
  if (before.stage !== after.stage) changes.push({ field: 'stage', before: before.stage, after: after.stage });
  if (before.version !== after.version) changes.push({ field: 'version', before: before.version, after: after.version });
  for (const name of new Set([...Object.keys(before.inputs), ...Object.keys(after.inputs)])) {
    if (before.inputs[name] !== after.inputs[name]) {
      changes.push({ field: `inputs.${name}`, before: before.inputs[name], after: after.inputs[name] });
    }
  }
  for (const name of new Set([...Object.keys(before.settings), ...Object.keys(after.settings)])) {
    const a = canonicalJson(before.settings[name]);
    const b = canonicalJson(after.settings[name]);
    if (a !== b) changes.push({ field: `settings.${name}`, before: before.settings[name], after: after.settings[name] });
  }
  return changes;
}
