/**
 * The shapes every source reader (dir, git, tarball) produces, so later stages never need to
 * know where a repository came from.
 */
import type { ErrorCode } from '../../src/errors.ts';

export type SourceSpec = { dir: string } | { git: string; rev?: string; subdir?: string } | { tarball: string };

export interface FileLimits {
  /** Files above this size are skipped (FILE_TOO_LARGE) without being read. */
  maxFileBytes: number;
  /** A line longer than this (in UTF-16 units) marks the file as minified or generated. */
  maxLineLength: number;
}

export const DEFAULT_LIMITS: FileLimits = { maxFileBytes: 1024 * 1024, maxLineLength: 5000 };

/**
 * The highest `files.maxFileBytes` a config may set (refused above, at config time): every admitted
 * file is parsed whole (tree-sitter WASM, ~2.6 s per 8.8 MB) and tokenized whole in a worker, so
 * this is also the parser's own limit and an admitted file is never over it.
 */
export const MAX_FILE_BYTES_CEILING = 16 * 1024 * 1024;

export interface SourceFile {
  /** Posix, relative to the repository root, normalized. */
  path: string;
  bytes: Uint8Array;
  /** 0o755 for executables, else 0o644: the only distinction git keeps, so all kinds agree. */
  mode?: number;
}

export interface SkippedFile {
  path: string;
  code: ErrorCode;
  reason: string;
}

export interface SourceIdentity {
  kind: 'dir' | 'git' | 'tarball';
  /** Repository name for ids: dir basename, package.json name or tarball basename, git repo basename. */
  name: string;
  /** Absolute path, or the URL as given for a remote git repository. */
  location: string;
  /** Resolved commit SHA (git only). */
  commit?: string;
  /** Content hash of the archive bytes (tarball only). */
  tarballHash?: string;
}

export interface OpenedSource {
  identity: SourceIdentity;
  /** Files in sorted path order, streamed one at a time. Each call starts a fresh pass. */
  files(): AsyncIterable<SourceFile>;
  /** Complete once files() is exhausted; reset at the start of each pass. */
  skipped: SkippedFile[];
}
