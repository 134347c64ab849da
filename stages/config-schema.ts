/**
 * The pipeline's section of the config: its keys, their checks and cross-field rules. The engine
 * (src/config.ts) runs them next to its own keys, so every bad value is named by its path.
 */
import type { ConfigSection } from '../src/config.ts';
import { describeValue, type Check } from '../src/validate.ts';
import type { PipelineConfig } from './config.ts';
import { RetraceError } from '../src/errors.ts';
import { readTrajectoryConfig } from './render/settings.ts';
import { readHygieneConfig } from './hygiene/config.ts';

export const configSection: ConfigSection<PipelineConfig> = {
  keys({ file, bad, obj, str, bool, int, num, oneOf }) {
    const endpoint = obj(
      { baseURL: str, model: str, apiKeyEnv: str, timeoutMs: int(1), maxRetries: int(0, 100), maxConcurrency: int(1, 1024) },
      ['baseURL', 'model'],
    );
    const source: Check = (v, at) => {
      if (typeof v !== 'object' || v === null) bad(at, `expected { dir }, { git, rev, subdir } or { tarball }, got ${describeValue(v)}`);
      const o = v as Record<string, unknown>;
      if ('dir' in o) obj({ dir: str }, ['dir'])(v, at);
      else if ('git' in o) {
        obj({ git: str, rev: str, subdir: str }, ['git'])(v, at);
        // issue 16: a folder of the repository (monorepos), relative to its root.
        const sd = o.subdir as string | undefined;
        if (sd !== undefined && (sd === '' || sd.startsWith('/') || sd.split('/').some((x) => x === '..' || x === '.'))) bad(`${at}.subdir`, `expected a folder relative to the repository root (no leading /, no . or ..), got ${JSON.stringify(sd)}`);
      }
      else if ('tarball' in o) obj({ tarball: str }, ['tarball'])(v, at);
      else bad(at, `expected { dir }, { git, rev } or { tarball }, got keys ${Object.keys(o).join(', ') || '(none)'}`);
    };
    const sources: Check = (v, at) => {
      if (!Array.isArray(v)) bad(at, `expected a list of sources, got ${describeValue(v)}`);
      const list = v as unknown[];
      if (list.length === 0) bad(at, 'needs at least one source');
      list.forEach((s, i) => source(s, `${at}[${i}]`));
    };
    return {
      sources,
      format: oneOf('raw', 'trajectory'),
      files: obj({ maxFileBytes: int(1), maxLineLength: int(1) }),
      llm: obj({ provider: oneOf('offline', 'openai'), endpoint, temperature: num(0, 2), maxTokens: int(1), tokenBudget: int(1), promptsDir: str, contextTokens: int(512), maxTurns: int(1, 64) }),
      trajectory: (v, at) => {
        try {
          readTrajectoryConfig(v, at);
        } catch (e) {
          if (e instanceof RetraceError && e.code === 'CONFIG_INVALID') bad(e.item ?? at, e.message);
          throw e;
        }
      },
      search: obj({
        enabled: bool,
        candidates: int(1, 64),
        iterations: int(0, 64),
        scorer: obj({ provider: oneOf('offline', 'openai'), endpoint, contextTokens: int(16) }),
        steps: oneOf('write', 'all'),
      }),
      tokenizer: obj({ name: oneOf('llama3'), bos: int(0, 2 ** 31 - 1), eos: int(0, 2 ** 31 - 1) }),
      output: obj({
        layout: oneOf('documents', 'packed'),
        format: oneOf('parquet', 'arrow'),
        compression: oneOf('zstd', 'snappy', 'none'),
        seqLen: int(16),
        lastPartial: oneOf('drop', 'pad', 'keep'),
        padId: int(0, 2 ** 31 - 1),
        shardTokens: int(1),
        rowGroupRows: int(1),
      }),
      hygiene: (v, at) => void readHygieneConfig(v, at, file),
    };
  },
  required: ['sources', 'format'],
  refine(c, { bad }) {
    if (c.llm?.provider === 'openai' && !c.llm.endpoint) bad('config.llm.endpoint', "is required when llm.provider is 'openai'");
    if (c.search?.scorer?.provider === 'openai' && !c.search.scorer.endpoint) bad('config.search.scorer.endpoint', "is required when search.scorer.provider is 'openai'");
  },
};
