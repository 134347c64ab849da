/**
 * Action keys (src/key.ts, src/hash.ts): the serialisation's fixed field order, the declared
 * order of inputs, canonical settings, empty fields kept, and the branded hash types (checked by
 * the typecheck that `npm test` runs first).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import xxhash from 'xxhash-wasm';
import { actionKey, canonicalJson, diffKeyParts, hashCanonicalList, serializeKey, type KeyParts } from '../src/key.ts';
import { HASH_PIECE_BYTES, hashBytes, hashKey, hashText, initHash, isContentHash, type ActionKey, type ContentHash } from '../src/hash.ts';

const base: KeyParts = { stage: 'parse', version: '3', inputs: { content: 'c1', path: 'p1' }, settings: { language: 'js' } };

test.before(() => initHash());

test('inputs over HASH_PIECE_BYTES are hashed in pieces with the one-shot result (flat WASM memory, issue 17)', async () => {
  const xx = await xxhash();
  const oneShot = (b: Uint8Array) => [0x52455452n, 0x41434521n].map((seed) => xx.h64Raw(b, seed).toString(16).padStart(16, '0')).join('');
  for (const n of [HASH_PIECE_BYTES - 1, HASH_PIECE_BYTES, HASH_PIECE_BYTES + 1, 3 * HASH_PIECE_BYTES + 17]) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 2654435761) >>> 24);
    assert.is(hashBytes(bytes) as string, oneShot(bytes), `${n} bytes`);
  }
  // Text: pieces never split a surrogate pair; lone surrogates encode as U+FFFD either way.
  const chars = HASH_PIECE_BYTES / 4;
  for (const text of ['\ud83d\ude00'.repeat(chars), 'a' + '\ud83d\ude00'.repeat(chars), 'é\ud800x'.repeat(chars), 'x'.repeat(3 * chars + 1)]) {
    assert.is(hashText(text) as string, oneShot(new TextEncoder().encode(text)), `${text.length} chars`);
  }
  const sections = ['x'.repeat(3 * chars), 'é😀\ud800 "quoted"\n', '', ...Array.from({ length: 50 }, (_, i) => `section ${i}`)];
  assert.is(hashCanonicalList(sections), hashText(canonicalJson(sections)));
    // A conversation hashed turn by turn: earlier messages' bytes are reused, the hash is the same.
  const messages: unknown[] = [{ role: 'system', content: 'x'.repeat(3 * chars) }, { content: 'é😀\ud800 "q"\n', role: 'user', name: undefined }];
  for (let turn = 0; turn < 4; turn++) {
    assert.is(hashCanonicalList(messages), hashText(canonicalJson(messages)), `turn ${turn}`);
    messages.push({ role: 'assistant', content: `{"think":"turn ${turn}"}`, extra: [1, null, { b: 2, a: 1 }] }, turn % 2 ? null : `plain ${turn}`);
  }
  assert.is(hashCanonicalList([]), hashText(canonicalJson([])));
});

test('field order is fixed: stage, version, inputs, settings, whatever order the object has', () => {
  const reordered = { settings: { language: 'js' }, inputs: { content: 'c1', path: 'p1' }, version: '3', stage: 'parse' } as KeyParts;
  assert.is(serializeKey(base), '{"stage":"parse","version":"3","inputs":{"content":"c1","path":"p1"},"settings":{"language":"js"}}');
  assert.is(serializeKey(reordered), serializeKey(base));
  assert.is(actionKey(reordered), actionKey(base));
});

test('a key is a 32-hex hash, domain-separated from content hashes, and covers every field', () => {
  const k = actionKey(base);
  assert.match(k, /^[0-9a-f]{32}$/);
  assert.is(k, hashKey(serializeKey(base)));
  assert.is.not(k as string, hashText(serializeKey(base)) as string, 'a key never equals the content hash of its own text');
  const variants: KeyParts[] = [
    { ...base, stage: 'parse2' },
    { ...base, version: '4' },
    { ...base, inputs: { content: 'c2', path: 'p1' } },
    { ...base, inputs: { content: 'c1', path: 'p2' } },
    { ...base, settings: { language: 'ts' } },
  ];
  const keys = new Set([k, ...variants.map(actionKey)]);
  assert.is(keys.size, variants.length + 1, 'each change gives a new key');
});

test('inputs keep the order the stage declares (it is part of the key)', () => {
  const swapped: KeyParts = { ...base, inputs: { path: 'p1', content: 'c1' } };
  assert.is(serializeKey(swapped), '{"stage":"parse","version":"3","inputs":{"path":"p1","content":"c1"},"settings":{"language":"js"}}');
  assert.is.not(actionKey(swapped), actionKey(base));
  // Values are strings as given: no trimming or case folding.
  assert.is.not(actionKey({ ...base, inputs: { content: 'C1', path: 'p1' } }), actionKey(base));
});

test('settings are canonical JSON: object keys sorted at every level, arrays in order', () => {
  const a = { z: 1, a: { d: [3, 1], c: { y: true, x: null } }, m: 'text' };
  const b = { m: 'text', a: { c: { x: null, y: true }, d: [3, 1] }, z: 1 };
  assert.is(canonicalJson(a), '{"a":{"c":{"x":null,"y":true},"d":[3,1]},"m":"text","z":1}');
  assert.is(canonicalJson(b), canonicalJson(a));
  assert.is(actionKey({ ...base, settings: a }), actionKey({ ...base, settings: b }));
  assert.is.not(actionKey({ ...base, settings: { ...a, a: { ...a.a, d: [1, 3] } } }), actionKey({ ...base, settings: a }), 'array order matters');
  assert.is.not(actionKey({ ...base, settings: { n: 1 } }), actionKey({ ...base, settings: { n: '1' } }), 'types are kept');
  assert.is(canonicalJson({ big: 10n }), '{"big":"10"}');
  assert.throws(() => canonicalJson({ bad: Number.NaN }), /non-finite/);
  assert.throws(() => actionKey({ ...base, settings: { bad: Infinity } }), /non-finite/);
});

test('empty fields are kept, never dropped', () => {
  const empty: KeyParts = { stage: 'graph', version: '1', inputs: {}, settings: {} };
  assert.is(serializeKey(empty), '{"stage":"graph","version":"1","inputs":{},"settings":{}}');
  const keys = [
    actionKey(empty),
    actionKey({ ...empty, inputs: { deps: '' } }),
    actionKey({ ...empty, settings: { list: [] } }),
    actionKey({ ...empty, settings: { obj: {} } }),
    actionKey({ ...empty, settings: { text: '' } }),
    actionKey({ ...empty, settings: { none: null } }),
    actionKey({ ...empty, version: '' }),
  ];
  assert.is(new Set(keys).size, keys.length, 'an empty value differs from an absent one');
  // `undefined` is absent, as in JSON: a setting left unset does not change the key.
  assert.is(actionKey({ ...empty, settings: { unset: undefined } }), actionKey(empty));
});

test('diffKeyParts names each changed field', () => {
  const after: KeyParts = { stage: 'parse', version: '4', inputs: { content: 'c2', path: 'p1', extra: 'e' }, settings: { language: 'js', strict: true } };
  assert.equal(diffKeyParts(base, after), [
    { field: 'version', before: '3', after: '4' },
    { field: 'inputs.content', before: 'c1', after: 'c2' },
    { field: 'inputs.extra', before: undefined, after: 'e' },
    { field: 'settings.strict', before: undefined, after: true },
  ]);
  assert.equal(diffKeyParts(base, { ...base, settings: { language: 'js' } }), []);
  assert.equal(diffKeyParts({ ...base, settings: { o: { a: 1, b: 2 } } }, { ...base, settings: { o: { b: 2, a: 1 } } }), [], 'canonical comparison');
});

test('branded types: a plain string is neither an ActionKey nor a ContentHash', () => {
  const plain = 'ab'.repeat(16);
  // @ts-expect-error a plain string is not an ActionKey (the typecheck fails if this line compiles)
  const k: ActionKey = plain;
  // @ts-expect-error a content hash is not an action key
  const fromHash: ActionKey = hashText('x');
  // @ts-expect-error an action key is not a content hash
  const fromKey: ContentHash = actionKey(base);
  // The brands are compile-time only: at run time both are the same 32-hex strings.
  const h: ContentHash = hashText('x');
  const s: string = h; // a hash may be used as a string
  assert.ok(isContentHash(s));
  assert.not.ok(isContentHash('not a hash'));
  assert.ok(isContentHash(plain) && typeof k === 'string' && typeof fromHash === 'string' && typeof fromKey === 'string');
  if (isContentHash(plain)) {
    const narrowed: ContentHash = plain; // the guard is the sanctioned way in
    assert.is(narrowed, plain);
  }
});

test('canonicalJson is the text of the plain definition: keys sorted at every level, undefined left out, arrays in order', () => {
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object') return value === undefined ? 'null' : typeof value === 'bigint' ? JSON.stringify(value.toString()) : JSON.stringify(value);
    if (Array.isArray(value)) return '[' + value.map(reference).join(',') + ']';
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + reference(obj[k])).join(',') + '}';
  };
  let seed = 3;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const KEYS = ['b', 'a', 'é', 'Z', '10', '2', '', 'a"b', '😀', 'aa', '\n'];
  const make = (d: number): unknown => {
    const r = rnd();
    if (d > 3 || r < 0.3) return [1, -0.5, 'x', 'é"\\', null, true, undefined, 10n][Math.floor(rnd() * 8)];
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => make(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 6); i > 0; i--) o[KEYS[Math.floor(rnd() * KEYS.length)]!] = make(d + 1);
    return o;
  };
  for (let n = 0; n < 2000; n++) {
    const v = make(0);
    assert.is(canonicalJson(v), reference(v), `value ${n}`);
  }
  assert.throws(() => canonicalJson({ a: NaN }), /non-finite/);
});

test.run();
