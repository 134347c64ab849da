/**
 * Loads, in a parse thread, what a file's tasks need before the first file comes: every
 * registered language (its grammar and compiled queries, the largest part of a fresh thread's
 * first parse) and the secret rules. The pipeline's `warm` (pipeline.ts) runs it while
 * `build --watch` waits, so the first edit after an up-to-date build does not pay for it.
 * It goes through the tasks themselves (an empty file of each language), so the very code the
 * build runs is what gets loaded and compiled.
 */
import parseTask from './parse/task.ts';
import secretsTask from './hygiene/secrets-task.ts';
import { LANGUAGES } from './parse/languages/registry.ts';

export default async function warmTask(): Promise<number> {
  for (const spec of LANGUAGES) await parseTask({ path: `warm${spec.extensions[0]}`, text: '' });
  await secretsTask({ path: 'warm.txt', bytes: new ArrayBuffer(0) });
  return LANGUAGES.length;
}
