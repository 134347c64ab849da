/**
 * The no-op fast path. A build whose inputs (the pipeline's stat stamp of sources and prompts),
 * code (a stat stamp of the engine's and the pipeline's code and the lockfile), config and output
 * folder are all exactly as at the end of the last successful build on this machine would
 * compute nothing: its summary is answered from that build, after checking that the version is
 * still on disk. Any difference (a touched file, an edited prompt, another --out) takes the
 * normal, content-addressed path.
 *
 * The record is a small JSON file in the cache folder (`up-to-date/<slot>.json`, one slot per
 * config file and output folder), not an LMDB record: the check runs before the build's session
 * opens, so a no-op loads neither LMDB nor the pool, takes no lease and writes nothing but the
 * `latest` link. Stamps are machine-local, so the file never travels (push, export). Commands
 * that remove cache records (gc, verify --repair, a salvage) forget every slot (`forgetUpToDate`),
 * so the next build checks the cache again, as it did when the record lived in LMDB and gc could
 * take it. A slot that does not parse, or names another key, is a miss.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EngineConfig, LoadedConfig } from '../config.ts';
import { hashText, type ActionKey } from '../hash.ts';
import { actionKey, canonicalJson, type KeyParts } from '../key.ts';
import { pointLatest, readManifest, shardsPresent } from '../dataset.ts';
import type { Pipeline } from '../pipeline.ts';
import { codeStamp } from './code-stamp.ts';
import type { BuildSummary, StageTable } from './summary.ts';

export interface UpToDateKey {
  key: ActionKey;
  /** The file holding the last successful build of this config and output folder. */
  file: string;
}

const FOLDER = 'up-to-date';

interface Slot {
  format: 1;
  key: ActionKey;
  summary: BuildSummary;
  /**
   * The version's shard files and sizes, and manifest.json's size and mtime, so a no-op need not
   * read the manifest (seconds for one of many sources); slots written before lack them.
   */
  shards?: Array<{ file: string; bytes: number }>;
  manifest?: { bytes: number; mtimeMs: number };
}

export function upToDateKey<C extends EngineConfig>(at: { loaded: LoadedConfig<C>; cacheDir: string; outDir: string }, pipeline: Pipeline<C>): UpToDateKey | undefined {
  const { loaded, cacheDir, outDir } = at;
  if (loaded.config.cache?.remote && loaded.config.cache.remote.mode !== 'off') return undefined; // other machines may have moved the shared state
  const inputs = pipeline.inputStamp?.({ loaded, writes: [cacheDir, outDir] });
  if (!inputs) return undefined;
  const code = codeStamp(pipeline);
  if (!code) return undefined; // no stamp can be taken: the content-addressed path decides
  const parts: KeyParts = {
    stage: 'up-to-date',
    version: '1',
    inputs: { inputs, code, config: hashText(canonicalJson(loaded.config)) },
    settings: { out: outDir, configPath: loaded.path },
  };
  const slot = hashText(canonicalJson({ configPath: loaded.path, out: outDir }));
  return { key: actionKey(parts), file: join(cacheDir, FOLDER, `${slot}.json`) };
}

/** The last build's summary, when `noop` is its key and its version is still whole on disk (`latest` is pointed at it). */
export function upToDateSummary<C extends EngineConfig>(pipeline: Pipeline<C>, noop: UpToDateKey): BuildSummary | undefined {
  let slot: Slot;
  try {
    slot = JSON.parse(readFileSync(noop.file, 'utf8')) as Slot;
  } catch {
    return undefined; // none yet, or unreadable: a real build writes it again
  }
  if (slot?.format !== 1 || slot.key !== noop.key || typeof slot.summary?.path !== 'string') return undefined;
  const last = slot.summary;
  // The version must still be whole on disk (cheap: sizes only); otherwise a real build repairs it.
  // The slot lists the shards: a manifest of many sources takes seconds to read.
  try {
    const mf = join(last.path, 'manifest.json');
    if (slot.shards && slot.manifest) {
      // A manifest.json touched since (damaged, edited, replaced) sends the build the real way, which repairs it.
      const st = statSync(mf);
      if (st.size !== slot.manifest.bytes || st.mtimeMs !== slot.manifest.mtimeMs || !shardsPresent(last.path, { shards: slot.shards })) return undefined;
    } else if (!shardsPresent(last.path, readManifest(mf))) return undefined;
  } catch {
    return undefined; // no manifest, or not one
  }
  pointLatest(dirname(last.path), last.version);
  const stages: StageTable = {};
  for (const [name, st] of Object.entries(last.stages)) stages[name] = { items: st.items, cached: st.items, computed: 0, unchanged: 0, failed: 0, ms: 0 };
  return { ...last, ...pipeline.replaySummary?.(last), stages, failures: [], upToDate: true };
}

/** Remember a successful build under its key (written whole: temp file, then rename). */
export function rememberUpToDate(noop: UpToDateKey, summary: BuildSummary, shards: ReadonlyArray<{ file: string; bytes: number }>): void {
  const mf = statSync(join(summary.path, 'manifest.json'));
  const slot: Slot = { format: 1, key: noop.key, summary, shards: shards.map((s) => ({ file: s.file, bytes: s.bytes })), manifest: { bytes: mf.size, mtimeMs: mf.mtimeMs } };
  mkdirSync(dirname(noop.file), { recursive: true });
  const tmp = `${noop.file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(slot));
  renameSync(tmp, noop.file);
}

/** Forget every remembered build of a cache folder: the next build of each checks the cache. */
export function forgetUpToDate(cacheDir: string): void {
  rmSync(join(cacheDir, FOLDER), { recursive: true, force: true });
}
