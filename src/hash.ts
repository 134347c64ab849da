/**
 * Content addresses and action keys: 128-bit xxhash (two h64 passes with different seeds, as
 * STACK.md advises; 64 bits collide at a few percent for 1e9 keys), rendered as 32 hex chars.
 * Branded so a path, a prompt or an arbitrary string can never be passed where a hash is expected.
 */
import xxhashInit from 'xxhash-wasm';

export type ContentHash = string & { readonly __brand: 'ContentHash' };
export type ActionKey = string & { readonly __brand: 'ActionKey' };
/** The key of a record the engine keeps beside stage results (a version root: `version:<name>/<id>`), not a hash. */
export type RecordKey = string & { readonly __brand: 'RecordKey' };

type XX = Awaited<ReturnType<typeof xxhashInit>>;
let xx: XX | undefined;

/** Must be awaited once per thread before any hashing (xxhash-wasm instantiates a WASM module). */
export async function initHash(): Promise<void> {
  xx ??= await xxhashInit();
}

function api(): XX {
  if (!xx) throw new Error('hash used before initHash() resolved');
  return xx;
}

const SEED_A = 0x52455452n; // "RETR"
const SEED_B = 0x41434521n; // "ACE!"
const encoder = new TextEncoder();

function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

function hash128(bytes: Uint8Array): string {
  const h = api();
  return hex64(h.h64Raw(bytes, SEED_A)) + hex64(h.h64Raw(bytes, SEED_B));
}

export function hashBytes(bytes: Uint8Array): ContentHash {
  return hash128(bytes) as ContentHash;
}

export function hashText(text: string): ContentHash {
  return hash128(encoder.encode(text)) as ContentHash;
}

/** Keys are hashed from a canonical serialisation, domain-separated from content hashes. */
export function hashKey(canonical: string): ActionKey {
  return hash128(encoder.encode('retrace-action-key\0' + canonical)) as ActionKey;
}

export function isContentHash(s: string): s is ContentHash {
  return /^[0-9a-f]{32}$/.test(s);
}
