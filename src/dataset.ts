/**
 * Dataset versions on disk: datasets/<name>/<version>/{manifest.json, README.md, shard files}
 * (the pipeline names the shard files; Retrace's are data/train-00000-of-00002.parquet, the
 * Hugging Face layout, and README.md is the dataset card the pipeline writes). The manifest
 * pins every input and setting and lists each shard with its checksum; the version id is a Merkle
 * root over the shards' SHA-256 and the manifest's own content (the shard file names are part of
the manifest: renaming them gives a new id; the card is derived from the manifest and is not
hashed), so the same inputs give the same
 * id on any machine and any change to a shard or an input gives a new one. A version folder is
 * written under a temporary name and renamed into place: it is complete or absent.
 */
import { tempTag } from './temp.ts';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, lstatSync, readlinkSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RetraceError } from './errors.ts';
import { canonicalJsonPieces, readJsonFile, writeJsonPieces, writeJsonToFd } from './json-stream.ts';

export interface ShardEntry {
  file: string;
  sha256: string;
  bytes: number;
  rows: number;
  tokens: number;
}

export interface ManifestBody {
  /** Manifest layout version. */
  manifestVersion: 1;
  name: string;
  shards: ShardEntry[];
  /** Everything else the pipeline pins: sources, stages, prompts, models, tokenizer, settings. */
  [k: string]: unknown;
}

export interface Manifest extends ManifestBody {
  version: string;
  merkleRoot: string;
}

/** A version built while some items failed: its manifest says so (absent on complete versions). */
export interface PartialMark {
  failures: number;
  /** The failed items, `stage item: CODE`, at most 50. */
  items: string[];
}

export const isPartial = (m: Pick<Manifest, 'partial'> | Record<string, unknown>): boolean => m.partial !== undefined && m.partial !== null;

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Binary Merkle tree of SHA-256 over the leaves; an odd node is promoted unchanged. */
export function merkleRoot(leaves: string[]): string {
  if (leaves.length === 0) return sha256('');
  let level = leaves.map((l) => sha256('leaf:' + l));
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? sha256('node:' + level[i] + level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/**
 * The version id: shards in order, then the manifest's canonical content (without the id). The
 * canonical text is hashed in pieces (a manifest of many sources is larger than a string can be).
 */
export function versionOf(body: ManifestBody): { version: string; merkleRoot: string } {
  const h = createHash('sha256');
  canonicalJsonPieces(body, (piece) => h.update(piece));
  const root = merkleRoot([...body.shards.map((s) => s.sha256), h.digest('hex')]);
  return { version: root.slice(0, 16), merkleRoot: root };
}

/** The SHA-256 and size of a manifest's file text (`JSON.stringify(m, null, 2) + '\n'`), without the text as one string. */
function manifestDigest(manifest: Manifest): { sha256: string; bytes: number } {
  const h = createHash('sha256');
  let bytes = 1;
  writeJsonPieces(manifest, 2, (piece) => {
    h.update(piece);
    bytes += Buffer.byteLength(piece);
  });
  return { sha256: h.update('\n').digest('hex'), bytes };
}

/** Writes manifest.json in pieces (its text may be larger than a string can be). */
function writeManifestFile(path: string, manifest: Manifest): void {
  const fd = openSync(path, 'w');
  try {
    writeJsonToFd(fd, manifest, 2);
  } finally {
    closeSync(fd);
  }
}

/** A version's manifest.json: read in chunks when large; damage is DATASET_CORRUPT naming the file. */
export function readManifest(path: string): Manifest {
  let m: unknown;
  try {
    m = readJsonFile(path);
  } catch (err) {
    throw new RetraceError('DATASET_CORRUPT', `${path} is not readable JSON: ${(err as Error).message}`, {
      item: path,
      hint: 'the version folder is damaged: delete it and build again (the cache still holds its shards), or restore it from a copy',
    });
  }
  if (!m || typeof m !== 'object' || !Array.isArray((m as Manifest).shards)) {
    throw new RetraceError('DATASET_CORRUPT', `${path} is not a Retrace manifest (it has no shards list)`, {
      item: path,
      hint: 'the version folder is damaged: delete it and build again (the cache still holds its shards), or restore it from a copy',
    });
  }
  return m as Manifest;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write a version: each shard's bytes (from `shardBytes`) and the manifest go into a temporary
 * folder that is renamed to the version id. If the version already exists (an earlier or
 * concurrent identical build), it is checked instead: a shard that is missing or has the wrong
 * size (or, with `verifyExisting`, the wrong SHA-256) is written again, atomically, so a build
 * always leaves the version whole.
 */
export async function writeVersion(
  datasetsDir: string,
  body: ManifestBody,
  shardBytes: (file: string) => Promise<Uint8Array>,
  opts: {
    verifyExisting?: boolean;
    card?: (manifest: Manifest) => string;
    moveLatest?: boolean;
    /**
     * Puts a shard's file at `dest` (replacing it), instead of writing `shardBytes`: e.g. a hard
     * link to a file already written once elsewhere. `verify`: check the source's SHA-256 first.
     */
    place?: (file: string, dest: string, verify: boolean) => Promise<void>;
  } = {},
): Promise<{ manifest: Manifest; path: string; existed: boolean; repaired: string[]; latest: boolean }> {
  const { version, merkleRoot: root } = versionOf(body);
  const manifest: Manifest = { ...body, version, merkleRoot: root };
  const card = opts.card?.(manifest);
  const nameDir = join(datasetsDir, body.name);
  const finalDir = join(nameDir, version);
  mkdirSync(nameDir, { recursive: true });
  let existed = existsSync(join(finalDir, 'manifest.json'));
  const repaired: string[] = [];
  if (!existed) {
    const tmp = join(nameDir, `.tmp-${version}-${tempTag()}`);
    mkdirSync(tmp, { recursive: true });
    try {
      await inParallel(body.shards, async (s) => {
        mkdirSync(dirname(join(tmp, s.file)), { recursive: true });
        if (opts.place) await opts.place(s.file, join(tmp, s.file), false);
        else writeFileSync(join(tmp, s.file), await shardBytes(s.file));
      });
      writeManifestFile(join(tmp, 'manifest.json'), manifest);
      if (card !== undefined) writeFileSync(join(tmp, 'README.md'), card);
      for (const f of readdirSync(tmp, { recursive: true, encoding: 'utf8' })) if (lstatSync(join(tmp, f)).isFile()) fsyncPath(join(tmp, f));
      try {
        renameSync(tmp, finalDir);
      } catch (err) {
        // Another build finished the same version first: keep theirs.
        if (!existsSync(join(finalDir, 'manifest.json'))) throw err;
        existed = true;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } else {
    await inParallel(body.shards, async (s) => {
      const p = join(finalDir, s.file);
      const whole = existsSync(p) && lstatSync(p).size === s.bytes && (!opts.verifyExisting || (await sha256File(p)) === s.sha256);
      if (!whole) {
        mkdirSync(dirname(p), { recursive: true });
        // A damaged file may share its inode with the source `place` would link: check it.
        if (opts.place) await opts.place(s.file, p, true);
        else replaceFile(p, await shardBytes(s.file));
        repaired.push(s.file);
      }
    });
    const order = new Map(body.shards.map((s, k) => [s.file, k]));
    repaired.sort((a, b) => order.get(a)! - order.get(b)!);
    const mf = join(finalDir, 'manifest.json');
    const want = manifestDigest(manifest);
    if (!existsSync(mf) || lstatSync(mf).size !== want.bytes || (await sha256File(mf)) !== want.sha256) {
      replaceFile(mf, (tmpFile) => writeManifestFile(tmpFile, manifest));
      repaired.push('manifest.json');
    }
    const cf = join(finalDir, 'README.md');
    if (card !== undefined && (!existsSync(cf) || readFileSync(cf, 'utf8') !== card)) {
      replaceFile(cf, card);
      repaired.push('README.md');
    }
  }
  // `latest` names the newest complete version; a partial one moves it only when asked.
  const latest = opts.moveLatest ?? !isPartial(manifest);
  if (latest) pointLatest(nameDir, version);
  return { manifest, path: finalDir, existed, repaired, latest };
}

/** Runs `work` on every item, a few at a time (shards are placed or re-made in parallel); the first failure is thrown once all have settled. */
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>, width = 4): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure) throw failure.err;
}

/** Write to a temporary name beside the file (the bytes, or `write(tmp)` for a file written in pieces), flush, then rename over it. */
export function replaceFile(path: string, content: Uint8Array | string | ((tmp: string) => void)): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  if (typeof content === 'function') content(tmp);
  else writeFileSync(tmp, content);
  fsyncPath(tmp);
  renameSync(tmp, path);
}

/** Every shard of a version is present with its manifest size (a cheap check: no hashing). */
export function shardsPresent(path: string, manifest: { shards: ReadonlyArray<Pick<ShardEntry, 'file' | 'bytes'>> }): boolean {
  return manifest.shards.every((s) => {
    const p = join(path, s.file);
    return existsSync(p) && lstatSync(p).size === s.bytes;
  });
}

/** datasets/<name>/latest -> <version>, replaced atomically. */
export function pointLatest(nameDir: string, version: string): void {
  const link = join(nameDir, 'latest');
  const tmp = join(nameDir, `.latest-${tempTag()}`);
  symlinkSync(version, tmp);
  renameSync(tmp, link);
}

export interface VersionInfo {
  name: string;
  version: string;
  path: string;
  latest: boolean;
  /** Built while some items failed (manifest `partial`). Reads the manifest. */
  readonly partial: boolean;
  /** Read from manifest.json on first use (a large one takes seconds): listing and finding versions read none. */
  readonly manifest: Manifest;
}

function versionInfo(name: string, version: string, path: string, latest: boolean): VersionInfo {
  let manifest: Manifest | undefined;
  return {
    name,
    version,
    path,
    latest,
    get manifest() {
      return (manifest ??= readManifest(join(path, 'manifest.json')));
    },
    get partial() {
      return isPartial(this.manifest);
    },
  };
}

export function listVersions(datasetsDir: string, name?: string): VersionInfo[] {
  if (!existsSync(datasetsDir)) return [];
  const out: VersionInfo[] = [];
  const names = name ? [name] : readdirSync(datasetsDir).filter((n) => !n.startsWith('.'));
  for (const n of names) {
    const nameDir = join(datasetsDir, n);
    if (!existsSync(nameDir) || !lstatSync(nameDir).isDirectory()) continue;
    let latest: string | undefined;
    try {
      latest = readlinkSync(join(nameDir, 'latest'));
    } catch {
      latest = undefined;
    }
    for (const v of readdirSync(nameDir)) {
      const mf = join(nameDir, v, 'manifest.json');
      if (v.startsWith('.') || v === 'latest' || !existsSync(mf)) continue;
      out.push(versionInfo(n, v, join(nameDir, v), v === latest));
    }
  }
  return out;
}

/** Find a version by id, id prefix, `latest` or `name/version`. */
export function findVersion(datasetsDir: string, ref: string, name?: string): VersionInfo {
  let wantName = name;
  let wantVersion = ref;
  if (ref.includes('/')) [wantName, wantVersion] = ref.split('/', 2);
  const all = listVersions(datasetsDir, wantName);
  const matches = wantVersion === 'latest' ? all.filter((v) => v.latest) : all.filter((v) => v.version.startsWith(wantVersion));
  if (matches.length === 1) return matches[0];
  const known = all.map((v) => `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}`).join(', ') || 'none';
  throw new RetraceError('DATASET_NOT_FOUND', matches.length === 0 ? `no dataset version matches "${ref}"` : `"${ref}" matches ${matches.length} versions`, {
    item: ref,
    hint: `versions under ${datasetsDir}: ${known} (pass the --out, or --config, the build used)`,
  });
}

export interface VerifyResult {
  ok: boolean;
  problems: Array<{ file: string; problem: string }>;
}

/** Re-check every shard's checksum and size, and the version id against the manifest. */
export async function verifyVersion(info: VersionInfo): Promise<VerifyResult> {
  const problems: VerifyResult['problems'] = [];
  const { version: _v, merkleRoot: root, ...body } = info.manifest;
  const recomputed = versionOf(body as ManifestBody);
  if (recomputed.merkleRoot !== root || recomputed.version !== info.version) {
    problems.push({ file: 'manifest.json', problem: `version id does not match its content (expected ${recomputed.version})` });
  }
  for (const s of info.manifest.shards) {
    const p = join(info.path, s.file);
    if (!existsSync(p)) {
      problems.push({ file: s.file, problem: 'missing' });
      continue;
    }
    const size = lstatSync(p).size;
    if (size !== s.bytes) problems.push({ file: s.file, problem: `size ${size} != manifest ${s.bytes}` });
    const sum = await sha256File(p);
    if (sum !== s.sha256) problems.push({ file: s.file, problem: `sha256 ${sum.slice(0, 16)}… != manifest ${s.sha256.slice(0, 16)}…` });
  }
  return { ok: problems.length === 0, problems };
}
