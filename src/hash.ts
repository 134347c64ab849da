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

/**
 * Inputs longer than this are hashed in pieces of this size, with the same result: xxhash-wasm
 * copies its input into its WASM memory, which grows to the largest input ever hashed and never
 * shrinks (issue 17: a 30 MB raw document held 30 MB of every thread that hashed it for the rest
 * of the build; at 10 packages the largest was 1 MB).
 */
export const HASH_PIECE_BYTES = 1 << 20;

function hash128(bytes: Uint8Array): string {
  if (bytes.byteLength <= HASH_PIECE_BYTES) {
    const h = api();
    return hex64(h.h64Raw(bytes, SEED_A)) + hex64(h.h64Raw(bytes, SEED_B));
  }
  return new TextHasher().updateBytes(bytes).digest();
}

/** At most 3 UTF-8 bytes per UTF-16 unit: a piece of this many units encodes within HASH_PIECE_BYTES. */
const PIECE_CHARS = HASH_PIECE_BYTES / 4;

/**
 * The content hash of bytes or text given in pieces, equal to hashing their concatenation at
 * once (hashBytes / hashText), with neither the whole concatenation nor a copy of a long piece
 * in memory: text is encoded a bounded piece at a time. Text pieces must each be well-formed at
 * their ends (no surrogate pair split across two `updateText` calls), as JSON text always is.
 */
export class TextHasher {
  private readonly a = api().create64(SEED_A);
  private readonly b = api().create64(SEED_B);

  updateBytes(bytes: Uint8Array): this {
    for (let at = 0; at < bytes.byteLength; at += HASH_PIECE_BYTES) {
      const piece = bytes.subarray(at, at + HASH_PIECE_BYTES);
      this.a.update(piece);
      this.b.update(piece);
    }
    return this;
  }

  updateText(text: string): this {
    if (text.length <= PIECE_CHARS) return this.updateBytes(encoder.encode(text));
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + PIECE_CHARS);
      // Never between the two halves of a surrogate pair: the bytes are those of the whole text.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      this.updateBytes(encoder.encode(text.slice(at, end)));
      at = end;
    }
    return this;
  }

  digest(): ContentHash {
    return (hex64(this.a.digest()) + hex64(this.b.digest())) as ContentHash;
  }
}

/** The content hash of `text`'s UTF-8 bytes, encoded a piece at a time when it is long. */
function hashUtf8(text: string): string {
  if (text.length <= PIECE_CHARS) return hash128(encoder.encode(text));
  return new TextHasher().updateText(text).digest();
}

export function hashBytes(bytes: Uint8Array): ContentHash {
  return hash128(bytes) as ContentHash;
}

export function hashText(text: string): ContentHash {
  return hashUtf8(text) as ContentHash;
}

/** Keys are hashed from a canonical serialisation, domain-separated from content hashes. */
export function hashKey(canonical: string): ActionKey {
  return hashUtf8('retrace-action-key\0' + canonical) as ActionKey;
}

export function isContentHash(s: string): s is ContentHash {
  return /^[0-9a-f]{32}$/.test(s);
}
