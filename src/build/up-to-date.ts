/**
 * The no-op fast path. A build whose inputs (the pipeline's stat stamp of sources and prompts),
 * code (a stat stamp of the engine's and the pipeline's code and the lockfile), config and output
 * folder are all exactly as at the end of the last successful build on this machine would
 * compute nothing: its summary is answered from that build, after checking that the version is
 * still on disk. Stamps are machine-local, so the record stays in the local tier. Any difference
 * (a touched file, an edited prompt, another --out) takes the normal, content-addressed path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EngineConfig } from '../config.ts';
import { hashText, type ActionKey } from '../hash.ts';
import { actionKey, canonicalJson, type KeyParts } from '../key.ts';
import { getEngineRecord, putEngineRecord } from '../cache/records.ts';
import { pointLatest, shardsPresent, type Manifest } from '../dataset.ts';
import type { Pipeline } from '../pipeline.ts';
import { codeStamp } from './code-stamp.ts';
import type { Session } from './session.ts';
import type { BuildSummary, StageTable } from './summary.ts';

export interface UpToDateKey {
  key: ActionKey;
  parts: KeyParts;
}

export function upToDateKey<C extends EngineConfig>(s: Session<C>, pipeline: Pipeline<C>): UpToDateKey | undefined {
  if (s.loaded.config.cache?.remote && s.loaded.config.cache.remote.mode !== 'off') return undefined; // other machines may have moved the shared state
  const inputs = pipeline.inputStamp?.(s.run);
  if (!inputs) return undefined;
  const code = codeStamp(pipeline);
  if (!code) return undefined; // no stamp can be taken: the content-addressed path decides
  const parts: KeyParts = {
    stage: 'up-to-date',
    version: '1',
    inputs: { inputs, code, config: hashText(canonicalJson(s.loaded.config)) },
    settings: { out: s.outDir, configPath: s.loaded.path },
  };
  return { key: actionKey(parts), parts };
}

export async function upToDateSummary<C extends EngineConfig>(s: Session<C>, pipeline: Pipeline<C>, key: ActionKey): Promise<BuildSummary | undefined> {
  const last = await getEngineRecord<BuildSummary>(s.local, key);
  if (!last) return undefined;
  // The version must still be whole on disk (cheap: sizes only); otherwise a real build repairs it.
  const mf = join(last.path, 'manifest.json');
  if (!existsSync(mf) || !shardsPresent(last.path, JSON.parse(readFileSync(mf, 'utf8')) as Manifest)) return undefined;
  pointLatest(dirname(last.path), last.version);
  const stages: StageTable = {};
  for (const [name, st] of Object.entries(last.stages)) stages[name] = { items: st.items, cached: st.items, computed: 0, unchanged: 0, failed: 0, ms: 0 };
  return { ...last, ...pipeline.replaySummary?.(last), stages, failures: [], upToDate: true };
}

export async function rememberUpToDate<C extends EngineConfig>(s: Session<C>, noop: UpToDateKey, summary: BuildSummary): Promise<void> {
  await putEngineRecord(s.local, noop.key, { kind: 'up-to-date', item: s.loaded.config.name, parts: noop.parts, value: summary, ms: summary.ms });
}
