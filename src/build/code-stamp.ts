/**
 * A stat stamp of the code a build runs: the engine (src/), the pipeline's folders
 * (`Pipeline.codeDirs`), bin/ and the lockfile. Part of the up-to-date shortcut's key and of any
 * pipeline memo keyed by stamps (PipelineRun.codeStamp), so editing Retrace itself trusts no
 * result those shortcuts remembered. Taken once per process and pipeline.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pipeline } from '../pipeline.ts';
import { newStamp, stampPath, stampTree } from '../stamp.ts';

const ENGINE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROJECT_ROOT = resolve(ENGINE_ROOT, '..');

const taken = new WeakMap<object, string | undefined>();

/** The digest, or undefined when no stamp can be taken (a folder is unreadable). */
export function codeStamp(pipeline: Pick<Pipeline<never>, 'codeDirs'>): string | undefined {
  if (taken.has(pipeline)) return taken.get(pipeline);
  const h = newStamp();
  let digest: string | undefined;
  try {
    for (const dir of [ENGINE_ROOT, ...pipeline.codeDirs, join(PROJECT_ROOT, 'bin')]) stampTree(h, dir);
    stampPath(h, join(PROJECT_ROOT, 'package-lock.json'));
    digest = h.digest('hex');
  } catch {
    digest = undefined;
  }
  taken.set(pipeline, digest);
  return digest;
}
