/**
 * Prompt files: read at run time from stages/<agent>/prompts/, or from the folder given as
 * `llm.promptsDir` (same layout: plan/system.md, plan/user.md, implement/system.md, implement/user.md, implement/observation.md). The rendered text
 * goes into each call's request (the cache key) and each file's hash into the manifest pins.
 * Templates use {{name}} placeholders; an unknown placeholder is an error, not silent text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RetraceError } from '../../src/errors.ts';
import { hashText, type ContentHash } from '../../src/hash.ts';

export const PROMPT_FILES = ['plan/system.md', 'plan/user.md', 'implement/system.md', 'implement/user.md', 'implement/observation.md'] as const;
export type PromptName = (typeof PROMPT_FILES)[number];
export type PromptSet = Record<PromptName, string>;

const STAGES_DIR = fileURLToPath(new URL('..', import.meta.url));

function pathOf(name: PromptName, promptsDir: string | undefined): string {
  const [agent, file] = name.split('/') as [string, string];
  return promptsDir ? join(promptsDir, agent, file) : join(STAGES_DIR, agent, 'prompts', file);
}

export function loadPrompts(promptsDir?: string): PromptSet {
  const out = {} as PromptSet;
  for (const name of PROMPT_FILES) {
    const path = pathOf(name, promptsDir);
    try {
      out[name] = readFileSync(path, 'utf8');
    } catch (err) {
      throw new RetraceError('CONFIG_INVALID', `cannot read prompt file: ${(err as Error).message}`, {
        item: path,
        hint: promptsDir
          ? `llm.promptsDir must hold ${PROMPT_FILES.join(', ')} (copy them from stages/plan/prompts and stages/implement/prompts)`
          : 'the installation is incomplete: restore the prompt files under stages/',
      });
    }
  }
  return out;
}

export function promptHashes(set: PromptSet): Record<PromptName, ContentHash> {
  return Object.fromEntries(PROMPT_FILES.map((n) => [n, hashText(set[n])])) as Record<PromptName, ContentHash>;
}

export function fillTemplate(name: PromptName | string, template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in vars)) {
      throw new RetraceError('CONFIG_INVALID', `unknown placeholder {{${key}}} in prompt ${name}`, {
        item: name,
        hint: `known placeholders: ${Object.keys(vars).map((k) => `{{${k}}}`).join(', ')}`,
      });
    }
    return vars[key];
  });
}
