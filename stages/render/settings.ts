/**
 * `trajectory` config section (issue 12): the document budget.
 *
 *   maxTokens  most tokens of one trajectory document, BOS/EOS included (default 65,536, the
 *              paper's training context). A repository over it becomes several parts.
 *   oversize   'split' (default): cut into parts; 'skip': such a repository is reported
 *              (TRAJECTORY_OVERSIZE) and not written.
 */
import { RetraceError } from '../../src/errors.ts';
import type { LoadedConfig } from '../config.ts';

export const DEFAULT_MAX_TOKENS = 65_536;

export interface TrajectoryConfig {
  maxTokens?: number;
  oversize?: 'split' | 'skip';
}

export interface TrajectorySettings {
  maxTokens: number;
  oversize: 'split' | 'skip';
}

/** Checks the raw `trajectory` section; throws CONFIG_INVALID naming the config path. */
export function readTrajectoryConfig(raw: unknown, path = 'config.trajectory'): TrajectoryConfig | undefined {
  if (raw === undefined) return undefined;
  const bad = (at: string, msg: string): never => {
    throw new RetraceError('CONFIG_INVALID', msg, { item: at, hint: 'see README "Trajectory documents"' });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(path, 'expected an object { maxTokens, oversize }');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'maxTokens' && k !== 'oversize') bad(`${path}.${k}`, 'unknown setting (known: maxTokens, oversize)');
  if (o.maxTokens !== undefined && (typeof o.maxTokens !== 'number' || !Number.isInteger(o.maxTokens) || o.maxTokens < 256 || o.maxTokens > 16_777_216)) {
    bad(`${path}.maxTokens`, `expected an integer from 256 to 16777216, got ${JSON.stringify(o.maxTokens)}`);
  }
  if (o.oversize !== undefined && o.oversize !== 'split' && o.oversize !== 'skip') bad(`${path}.oversize`, `expected 'split' or 'skip', got ${JSON.stringify(o.oversize)}`);
  return o as TrajectoryConfig;
}

export function resolveTrajectorySettings(loaded: Pick<LoadedConfig, 'config'>): TrajectorySettings {
  const t = loaded.config.trajectory ?? {};
  return { maxTokens: t.maxTokens ?? DEFAULT_MAX_TOKENS, oversize: t.oversize ?? 'split' };
}
