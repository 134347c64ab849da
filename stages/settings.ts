/**
 * Defaults of the pipeline's settings, in one place: what a config leaves out is filled here, and
 * the manifest pins the resolved values.
 */
import type { PipelineConfig } from './config.ts';
import { RetraceError } from '../src/errors.ts';
import { DEFAULT_LIMITS, type FileLimits } from './ingest/sources.ts';
import { MAX_FILE_BYTES_CEILING } from './ingest/types.ts';
import type { ShardSettings } from './shard/stage.ts';
import { LLAMA3 } from './tokenize/llama3.ts';

export interface ResolvedSettings {
  limits: FileLimits;
  tokenizer: { name: 'llama3'; bos: number; eos: number };
  output: ShardSettings;
}

export function resolveSettings(cfg: PipelineConfig): ResolvedSettings {
  const o = cfg.output ?? {};
  const maxFileBytes = cfg.files?.maxFileBytes;
  if (maxFileBytes !== undefined && maxFileBytes > MAX_FILE_BYTES_CEILING) {
    throw new RetraceError('CONFIG_INVALID', `files.maxFileBytes ${maxFileBytes} is over the ceiling of ${MAX_FILE_BYTES_CEILING} bytes (16 MiB): every admitted file is parsed and tokenized whole in one worker`, {
      item: 'config.files.maxFileBytes',
      hint: `set it to at most ${MAX_FILE_BYTES_CEILING}; larger files are bundles or generated code and are skipped as FILE_TOO_LARGE`,
    });
  }
  return {
    limits: { maxFileBytes: cfg.files?.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes, maxLineLength: cfg.files?.maxLineLength ?? DEFAULT_LIMITS.maxLineLength },
    tokenizer: { name: 'llama3', bos: cfg.tokenizer?.bos ?? LLAMA3.bos, eos: cfg.tokenizer?.eos ?? LLAMA3.eos },
    output: {
      layout: o.layout ?? 'documents',
      format: o.format ?? 'parquet',
      compression: o.compression ?? 'zstd',
      seqLen: o.seqLen ?? 8192,
      lastPartial: o.lastPartial ?? 'pad',
      padId: o.padId ?? LLAMA3.eos,
      shardTokens: o.shardTokens ?? 2_000_000,
      rowGroupRows: o.rowGroupRows ?? 1024,
    },
  };
}
