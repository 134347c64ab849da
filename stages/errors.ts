/**
 * The Retrace pipeline's error, warning and skip codes: one meaning each. Registered with the
 * engine (src/errors.ts), which checks every error, warning and skip reason against its registry.
 */
import { factories, registerCodes, type CodeSpec } from '../src/errors.ts';

declare module '../src/errors.ts' {
  interface ErrorCodes {
    SOURCE_NOT_FOUND: true;
    SOURCE_EMPTY: true;
    SOURCE_GIT_FAILED: true;
    SOURCE_TARBALL_INVALID: true;
    FILES_SKIPPED: true;
    FILE_UNREADABLE: true;
    FILE_INVALID_UTF8: true;
    FILE_BINARY: true;
    FILE_TOO_LARGE: true;
    FILE_MINIFIED: true;
    FILE_VENDORED: true;
    FILE_IGNORED: true;
    FILE_SYMLINK_OUTSIDE: true;
    FILE_SYMLINK: true;
    FILE_UNSAFE_PATH: true;
    PARSE_FAILED: true;
    LLM_BUDGET_EXHAUSTED: true;
    TOKENIZER_FAILED: true;
    TRAJECTORY_OVERSIZE: true;
    FILE_DUPLICATE: true;
    FILE_CONTAMINATED: true;
    FILE_SECRET: true;
    LICENSE_NOT_ALLOWED: true;
    SOURCE_DUPLICATE: true;
    BENCHMARK_INVALID: true;
    SHARD_MISMATCH: true;
  }
}

type PipelineCode =
  | 'SOURCE_NOT_FOUND' | 'SOURCE_EMPTY' | 'SOURCE_GIT_FAILED' | 'SOURCE_TARBALL_INVALID' | 'FILES_SKIPPED'
  | 'FILE_UNREADABLE' | 'FILE_INVALID_UTF8' | 'FILE_BINARY' | 'FILE_TOO_LARGE' | 'FILE_MINIFIED' | 'FILE_VENDORED'
  | 'FILE_IGNORED' | 'FILE_SYMLINK_OUTSIDE' | 'FILE_SYMLINK' | 'FILE_UNSAFE_PATH'
  | 'PARSE_FAILED' | 'LLM_BUDGET_EXHAUSTED' | 'TOKENIZER_FAILED' | 'TRAJECTORY_OVERSIZE'
  | 'FILE_DUPLICATE' | 'FILE_CONTAMINATED' | 'FILE_SECRET' | 'LICENSE_NOT_ALLOWED' | 'SOURCE_DUPLICATE' | 'BENCHMARK_INVALID'
  | 'SHARD_MISMATCH';

export const PIPELINE_CODES = registerCodes('retrace pipeline', {
  SOURCE_NOT_FOUND: { kind: 'error', meaning: 'a configured source path does not exist' },
  SOURCE_EMPTY: { kind: 'error', meaning: 'a source (or the whole build) has no usable file' },
  SOURCE_GIT_FAILED: { kind: 'error', meaning: 'git could not read the configured repository or revision' },
  SOURCE_TARBALL_INVALID: { kind: 'error', meaning: 'a tarball source cannot be read as a (gzipped) tar archive' },
  FILES_SKIPPED: { kind: 'warning', meaning: 'files of a source were skipped; each one and its reason is in the manifest' },
  FILE_UNREADABLE: { kind: 'skip', meaning: 'a file could not be read (permissions, fifo, socket or device)' },
  FILE_INVALID_UTF8: { kind: 'skip', meaning: 'a file is not valid UTF-8 text' },
  FILE_BINARY: { kind: 'skip', meaning: 'a file is binary (extension or NUL bytes)' },
  FILE_TOO_LARGE: { kind: 'skip', meaning: 'a file is larger than files.maxFileBytes' },
  FILE_MINIFIED: { kind: 'skip', meaning: 'a file looks minified or generated (line length)' },
  FILE_VENDORED: { kind: 'skip', meaning: 'a file is in a vendored directory or a submodule' },
  FILE_IGNORED: { kind: 'skip', meaning: 'a file matches .gitignore' },
  FILE_SYMLINK_OUTSIDE: { kind: 'skip', meaning: 'a symlink or hard link points outside the repository (or nowhere)' },
  FILE_SYMLINK: { kind: 'skip', meaning: 'a symlink to a directory inside the repository, read at its own path' },
  FILE_UNSAFE_PATH: { kind: 'skip', meaning: 'an archive entry path is absolute, empty or leaves the repository' },
  PARSE_FAILED: { kind: 'error', meaning: 'a file could not be parsed (no grammar, or the parser failed)' },
  LLM_BUDGET_EXHAUSTED: { kind: 'error', meaning: 'llm.tokenBudget was reached: the build stopped cleanly' },
  TOKENIZER_FAILED: { kind: 'error', meaning: 'the tokenizer vocabulary is missing or damaged, or ids could not be decoded' },
  FILE_DUPLICATE: { kind: 'skip', meaning: 'a file whose bytes (or, with dedup near, most of whose content) were already taken: the manifest names the kept copy' },
  FILE_CONTAMINATED: { kind: 'skip', meaning: 'a file sharing a token n-gram with a benchmark item (hygiene.decontaminate): the manifest names the item' },
  FILE_SECRET: { kind: 'skip', meaning: "a file holding a secret or email address, left out under hygiene.secrets 'skip-file'" },
  LICENSE_NOT_ALLOWED: { kind: 'skip', meaning: 'a repository whose detected license is not in hygiene.licenses.allow (or unknown, with unknown skip)' },
  SOURCE_DUPLICATE: { kind: 'skip', meaning: 'a repository that is a duplicate (all files taken already) or a near-duplicate (fork) of an earlier one' },
  BENCHMARK_INVALID: { kind: 'error', meaning: 'a benchmark file of hygiene.decontaminate is missing or unreadable' },
  SHARD_MISMATCH: { kind: 'error', meaning: 'a shard re-made from its cached documents differs from the bytes the cache recorded for it' },
  TRAJECTORY_OVERSIZE: { kind: 'warning', meaning: "a repository's trajectory exceeds trajectory.maxTokens and trajectory.oversize is 'skip': it is reported, not written" },
} satisfies Record<PipelineCode, CodeSpec>);

export const pipelineErrors = factories(PIPELINE_CODES);
