/**
 * Which documents go into which shard, planned from token counts and document ids alone.
 *
 * Documents layout (the incremental one): documents are ordered by identity (`docOrder`: the
 * document id, parts `#k` in numeric order), never by position in the config, and a shard ends
 * after a document chosen by its id, so the assignment of a document to a shard depends on its
 * id and on its neighbours only:
 * - natural boundary after document d when the shard holds at least `min` (target / 4) tokens
 *   and u(d.id) < d.tokens / (target - min), with u a uniform hash of the id in [0, 1):
 *   token-weighted, so the mean shard holds about `target` tokens whatever the document sizes,
 *   and a document of 3/4 of the target or more always ends its shard;
 * - forced boundary before a document that would take the shard over `max` (2 x target) tokens (a single
 *   document larger than `max` is a shard of its own).
 * A one-line edit changes one document's tokens by a few: the same boundaries (the chance that
 * the edited document's own boundary flips is |Δtokens| / (target - min)), so only the shard holding it
 * is re-written. A repository that grows, shrinks, appears or goes away moves at most the
 * boundaries near it: the plan re-synchronises at the next natural boundary.
 *
 * Packed layout: shard k holds sequences [k*S, (k+1)*S) of the concatenated token stream of the
 * documents in the same identity order. Sequences are cut by position, so a document whose token
 * count changes re-writes its shard and every later one (only shards before it are reused).
 */
import type { TokenizedRef } from '../tokenize/stage.ts';
import { fmix32, fnv1a } from '../hash32.ts';

/** The license column's value when no license was found (SPDX's term). */
export const NOASSERTION = 'NOASSERTION';

/** A slice [start, end) of one document's tokens. */
export interface DocSlice {
  /** With the repository's license (the shard's `license` column), set when the build assembles. */
  doc: TokenizedRef & { license?: string };
  start: number;
  end: number;
}

export interface PlanSettings {
  shardTokens: number;
  seqLen: number;
}

/** Shard bounds of the documents layout around the target `shardTokens`. */
export function shardBounds(target: number): { min: number; max: number } {
  return { min: Math.floor(target / 4), max: target * 2 };
}

const PART = /^(.*)#(\d+)$/;

/** Identity order of documents: by id, a repository's parts `<id>#k` by k (so #2 before #10). */
export function docOrder(a: { id: string }, b: { id: string }): number {
  const pa = PART.exec(a.id);
  const pb = PART.exec(b.id);
  const ba = pa ? pa[1]! : a.id;
  const bb = pb ? pb[1]! : b.id;
  if (ba !== bb) return ba < bb ? -1 : 1;
  const ka = pa ? Number(pa[2]) : 0;
  const kb = pb ? Number(pb[2]) : 0;
  if (ka !== kb) return ka - kb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** FNV-1a over the id's UTF-16 units, then a murmur3 finalizer: a uniform 32-bit value. */
const idBits = (id: string): number => fmix32(fnv1a(id));

/** u(id) in [0, 1). */
export function idUnit(id: string): number {
  return idBits(id) / 2 ** 32;
}

/** Documents layout: whole documents in identity order, content-defined boundaries (see above). */
export function planDocumentShards<D extends TokenizedRef>(docs: readonly D[], s: PlanSettings): DocSlice[][] {
  return cutByContent(
    [...docs].sort(docOrder).map((doc) => ({ doc, start: 0, end: doc.tokens })),
    s.shardTokens,
    { maxTokens: shardBounds(s.shardTokens).max, maxRows: Infinity },
    idUnit,
  );
}

/**
 * The content-defined cut shared by shards and row groups: natural boundaries after a slice by
 * its id's hash `unit` (token-weighted, at least target / 4 tokens before one), forced ones
 * before a slice that would take the group over `maxTokens` tokens or `maxRows` rows.
 */
function cutByContent(slices: readonly DocSlice[], target: number, caps: { maxTokens: number; maxRows: number }, unit: (id: string) => number): DocSlice[][] {
  const min = Math.floor(target / 4);
  const groups: DocSlice[][] = [];
  let cur: DocSlice[] = [];
  let acc = 0;
  for (const slice of slices) {
    const tokens = slice.end - slice.start;
    if (cur.length > 0 && (acc + tokens > caps.maxTokens || cur.length >= caps.maxRows)) {
      groups.push(cur);
      cur = [];
      acc = 0;
    }
    cur.push(slice);
    acc += tokens;
    if (acc >= min && unit(slice.doc.id) * (target - min) < tokens) {
      groups.push(cur);
      cur = [];
      acc = 0;
    }
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/**
 * Row groups of a Parquet shard of the documents layout, planned like shards (same rule, a
 * smaller target: shardTokens / ROW_GROUPS_PER_SHARD, at least 1) from the shard's own slices, so
 * they restart at each shard's start and a one-line edit changes one row group, whose encoded
 * bytes are all the shard stage computes again (row-group.ts). The id hash is salted
 * (`rowGroupUnit`): row-group boundaries do not follow shard boundaries, which would leave most
 * shards of a single row group ending on a document that also ends the shard.
 *
 * Forced cuts: `rowGroupRows` rows, and a size bound that keeps one row group's text far below
 * Arrow's 2^31 string offsets. The plan knows tokens, not text lengths; the text is tokenized
 * whole (BOS + text + EOS) and Llama-3's longest token is 128 bytes, so a row group's text is at
 * most 128 bytes per token: MAX_ROW_GROUP_TOKENS tokens hold at most 1 GiB of text, ids and mask
 * (133 bytes a token). A single document larger than that is a row group of its own, as before.
 */
export const ROW_GROUPS_PER_SHARD = 8;
/** Upper bound on the UTF-8 bytes one Llama-3 token decodes to (its vocabulary's longest token). */
export const MAX_TOKEN_BYTES = 128;
export const MAX_ROW_GROUP_TOKENS = Math.floor(2 ** 30 / (MAX_TOKEN_BYTES + 5));

export function rowGroupTarget(shardTokens: number): number {
  return Math.max(1, Math.floor(shardTokens / ROW_GROUPS_PER_SHARD));
}

const ROW_GROUP_SALT = 0x9e3779b9;
/** u'(id) in [0, 1): a hash of the id independent of idUnit's. */
export function rowGroupUnit(id: string): number {
  return fmix32((fnv1a(id) ^ ROW_GROUP_SALT) >>> 0) / 2 ** 32;
}

export function planRowGroups(slices: readonly DocSlice[], s: { shardTokens: number; rowGroupRows: number }): DocSlice[][] {
  const target = rowGroupTarget(s.shardTokens);
  return cutByContent(slices, target, { maxTokens: Math.min(2 * target, MAX_ROW_GROUP_TOKENS), maxRows: s.rowGroupRows }, rowGroupUnit);
}

/** Packed layout: shard k holds sequences [k*S, (k+1)*S) of the concatenated token stream. */
export function planPackedShards<D extends TokenizedRef>(docs: readonly D[], s: PlanSettings): DocSlice[][] {
  const perShard = Math.max(1, Math.floor(s.shardTokens / s.seqLen)) * s.seqLen;
  const shards: DocSlice[][] = [];
  let cur: DocSlice[] = [];
  let room = perShard;
  for (const doc of [...docs].sort(docOrder)) {
    let start = 0;
    while (start < doc.tokens) {
      const take = Math.min(room, doc.tokens - start);
      cur.push({ doc, start, end: start + take });
      start += take;
      room -= take;
      if (room === 0) {
        shards.push(cur);
        cur = [];
        room = perShard;
      }
    }
  }
  if (cur.length > 0) shards.push(cur);
  return shards;
}
