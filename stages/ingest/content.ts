/**
 * A source's content digest: its identity (kind, name, commit, tarball hash; not where it lies on
 * this machine), every file the reader yields as (path, content hash), in order, and the reader's
 * skips (path, code, reason). Everything a repository's hygiene scan and chain read from the
 * source is in it, so memos keyed by it (hygiene-scan, source-content) answer on any machine
 * holding the same bytes: a fresh machine sharing a remote cache reads and hashes each file once
 * instead of looking up each file's items (issue 17, warm builds). Taken once per build and
 * source (only where a stat-stamped memo missed), in one streamed pass: no bytes are kept.
 */
import { hashBytes, hashText } from '../../src/hash.ts';
import { canonicalJson } from '../../src/key.ts';
import type { OpenedSource } from './types.ts';

const taken = new WeakMap<object, Map<number, string>>();

export async function contentDigest(opened: OpenedSource): Promise<string> {
  const files: Array<[string, string]> = [];
  for await (const f of opened.files()) files.push([f.path, hashBytes(f.bytes)]);
  const { kind, name, commit, tarballHash } = opened.identity;
  return hashText(canonicalJson({ identity: { kind, name, commit: commit ?? null, tarballHash: tarballHash ?? null }, files, skipped: opened.skipped.map((s) => [s.path, s.code, s.reason]) }));
}

/** The digest of `sources[index]` taken earlier in this build (`owner`: the run), if any. */
export function knownDigest(owner: object, index: number): string | undefined {
  return taken.get(owner)?.get(index);
}

export function rememberDigest(owner: object, index: number, digest: string): void {
  let m = taken.get(owner);
  if (!m) taken.set(owner, (m = new Map()));
  m.set(index, digest);
}
