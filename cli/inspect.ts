/** `retrace explain` and `retrace show`: why an item re-ran, and what it holds. */
import type { Argv } from 'yargs';
import type { EngineConfig } from '../src/config.ts';
import { RetraceError } from '../src/errors.ts';
import { explainItem, matchItems } from '../src/explain.ts';
import { formatWhy } from './why.ts';
import type { Pipeline } from '../src/pipeline.ts';
import { common, withCache, type Common, type Result } from './common.ts';

export function inspectCommands<C extends EngineConfig, T>(y: Argv<T>, pipeline: Pipeline<C>, run: (handler: (a: any) => Promise<Result>) => (a: any) => Promise<void>): Argv<T> {
  return y
    .command(
      'explain <item>',
      'why an item re-ran: which part of its key changed between the last two builds that computed it',
      (yy) => common(yy).positional('item', { type: 'string', demandOption: true, describe: 'an item id (repo, repo:path, shard file) or a path suffix' }),
      run((a: Common & { item: string }) =>
        withCache(a, async (cache) => {
          const found = matchItems(cache, a.item);
          if (found.length === 0) throw new RetraceError('ITEM_NOT_FOUND', `no item named "${a.item}" in the cache`, { item: a.item, hint: 'name a repository (yargs) or repo:path (yargs:build/lib/yargs-factory.js); `retrace show facts <repo>` lists its files' });
          const ex = found.map(explainItem);
          const all = [...cache.itemStates()];
          return { value: ex.map((e, k) => ({ ...e, why: formatWhy(e, found[k], all).split('\n').slice(2, -1).map((l) => l.trim()) })), text: ex.map((e, k) => formatWhy(e, found[k], all)).join('\n\n') };
        }),
      ),
    )
    .command(
      'show <stage> <item>',
      "print an item's cached artifact: `show facts <repo>` (file tree, dependency graph, order), `show parse <repo:path>`, any stage by name",
      (yy) => common(yy).positional('stage', { type: 'string', demandOption: true, describe: 'a stage name (ingest, parse, graph, plan, implement, search, tokenize, shard, ...) or facts (the graph stage)' }).positional('item', { type: 'string', demandOption: true, describe: 'a repository (yargs) or repo:path (yargs:build/lib/yargs-factory.js)' }),
      run((a: Common & { stage: string; item: string }) =>
        withCache(a, async (cache) => {
          const stage = pipeline.showAliases?.[a.stage] ?? a.stage;
          const names = pipeline.stages.map((s) => s.name);
          if (!names.includes(stage)) throw new RetraceError('USAGE', `unknown stage "${a.stage}"`, { item: a.stage, hint: `stages: ${names.join(', ')}; aliases: ${Object.keys(pipeline.showAliases ?? {}).join(', ')}` });
          const found = matchItems(cache, a.item).filter((s) => s.stage === stage);
          if (found.length === 0) throw new RetraceError('ITEM_NOT_FOUND', `no ${stage} item named "${a.item}" in the cache`, { item: a.item, hint: 'build first; items are a repository or repo:path (`retrace show facts <repo>` lists its files); search items exist only with `search: { enabled: true }`' });
          const out: string[] = [];
          const values: unknown[] = [];
          for (const st of found) {
            const bytes = await cache.getBlob(st.output);
            if (!bytes) throw new RetraceError('CACHE_BLOB_MISSING', `the output of ${stage} ${st.item} is missing`, { item: st.item, hint: 'build again' });
            const def = pipeline.stages.find((s) => s.name === stage)!;
            const value = def.codec ? def.codec.decode(bytes) : JSON.parse(new TextDecoder().decode(bytes));
            values.push(value);
            out.push(`${stage} ${st.item}\n` + (pipeline.format?.(stage, value) ?? JSON.stringify(value, null, 2)));
          }
          return { value: values.length === 1 ? values[0] : values, text: out.join('\n') };
        }),
      ),
    );
}
