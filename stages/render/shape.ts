/**
 * The shape of a dataset version, for the manifest's `shape` section and `retrace dataset show`:
 * documents (and how many repositories were cut into parts), tokens per document (median, 90th
 * percentile, max), the loss-masked share of all tokens, and for trajectories how the Read
 * observations came out (whole files, line-range excerpts, references to a file shown above).
 */

export interface RepoShape {
  /** Documents of the repository (1: not cut). */
  parts: number;
  /** Parts over trajectory.maxTokens because one file (or import cycle) alone is. */
  oversizeParts: number;
  /** Imports whose importer is in a later part than the file it imports. */
  crossingImports: number;
  reads: { whole: number; excerpts: number; references: number };
}

export interface VersionShape {
  documents: number;
  /** Repositories written as more than one document, and the documents they gave. */
  splitRepositories: number;
  partsOfSplitRepositories: number;
  tokensPerDocument: { median: number; p90: number; max: number };
  tokens: number;
  /** Tokens with loss_mask 0 / all tokens (BOS/EOS included in all). */
  maskedShare: number;
  oversizeParts?: number;
  crossingImports?: number;
  reads?: { whole: number; excerpts: number; references: number };
}

/** The p-quantile (nearest rank) of the values. */
export function quantile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

export function versionShape(docs: Array<{ tokens: number; trained: number }>, repos: RepoShape[]): VersionShape {
  const tokens = docs.reduce((n, d) => n + d.tokens, 0);
  const masked = docs.reduce((n, d) => n + (d.tokens - d.trained), 0);
  const split = repos.filter((r) => r.parts > 1);
  const shape: VersionShape = {
    documents: docs.length,
    splitRepositories: split.length,
    partsOfSplitRepositories: split.reduce((n, r) => n + r.parts, 0),
    tokensPerDocument: { median: quantile(docs.map((d) => d.tokens), 0.5), p90: quantile(docs.map((d) => d.tokens), 0.9), max: docs.reduce((m, d) => Math.max(m, d.tokens), 0) },
    tokens,
    maskedShare: tokens ? Math.round((masked / tokens) * 1e4) / 1e4 : 0,
  };
  if (repos.length) {
    shape.oversizeParts = repos.reduce((n, r) => n + r.oversizeParts, 0);
    shape.crossingImports = repos.reduce((n, r) => n + r.crossingImports, 0);
    shape.reads = repos.reduce((n, r) => ({ whole: n.whole + r.reads.whole, excerpts: n.excerpts + r.reads.excerpts, references: n.references + r.reads.references }), { whole: 0, excerpts: 0, references: 0 });
  }
  return shape;
}

/** Lines for `retrace dataset show`. */
export function formatShape(s: VersionShape | undefined): string[] {
  if (!s) return [];
  const out = [
    '  shape:',
    `    documents ${s.documents}${s.splitRepositories ? ` (${s.splitRepositories} repositories cut into ${s.partsOfSplitRepositories} parts)` : ''}, ${s.tokens} tokens`,
    `    tokens per document: median ${s.tokensPerDocument.median}, p90 ${s.tokensPerDocument.p90}, max ${s.tokensPerDocument.max}`,
    `    loss-masked share ${(100 * s.maskedShare).toFixed(1)}%`,
  ];
  if (s.reads) out.push(`    Read observations: ${s.reads.whole} whole files, ${s.reads.excerpts} excerpts, ${s.reads.references} references`);
  if (s.oversizeParts) out.push(`    ${s.oversizeParts} part(s) over trajectory.maxTokens: a single file (or import cycle) alone is`);
  if (s.crossingImports !== undefined && s.splitRepositories) out.push(`    imports crossing parts: ${s.crossingImports}`);
  return out;
}
