/** `retrace dataset list|show|verify|diff|pin|unpin`: built versions on disk. */
import type { Argv } from 'yargs';
import { cacheContext, datasetPin } from '../src/cache/commands.ts';
import type { EngineConfig } from '../src/config.ts';
import { findVersion, listVersions, verifyVersion } from '../src/dataset.ts';
import { diffVersions, formatDiff } from '../src/dataset-diff.ts';
import type { Pipeline } from '../src/pipeline.ts';
import { formatHead, headRows } from '../stages/view/head.ts';
import { common, dirOpts, folders, type Common, type Result } from './common.ts';

const versionArg = { type: 'string', demandOption: true, describe: 'version id, prefix, name/version or latest' } as const;

export function datasetCommands<C extends EngineConfig, T>(y: Argv<T>, pipeline: Pipeline<C>, run: (handler: (a: any) => Promise<Result>) => (a: any) => Promise<void>): Argv<T> {
  return y.command('dataset', 'list, show, verify and compare built dataset versions', (yy) =>
    yy
      .command('list', 'every built version', (c) => common(c), run(async (a: Common) => {
        const { outDir } = await folders(a);
        const vs = listVersions(outDir);
        return {
          value: vs.map((v) => ({ name: v.name, version: v.version, latest: v.latest, partial: v.partial, path: v.path, shards: v.manifest.shards.length, documents: (v.manifest.documents as unknown[] | undefined)?.length, tokens: v.manifest.shards.reduce((n, s) => n + s.tokens, 0) })),
          text: vs.length === 0 ? `no dataset versions under ${outDir}` : vs.map((v) => `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}${v.partial ? ` PARTIAL (${(v.manifest.partial as { failures?: number } | undefined)?.failures ?? '?'} failed)` : ''}  ${v.manifest.shards.length} shard(s), ${v.manifest.shards.reduce((n, s) => n + s.tokens, 0)} tokens`).join('\n'),
        };
      }))
      .command('show <version>', "a version's manifest: sources, settings, shards", (c) => common(c).positional('version', versionArg), run(async (a: Common & { version: string }) => {
        const { outDir } = await folders(a);
        const v = findVersion(outDir, a.version);
        const m = v.manifest;
        const lines = [
          `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}${v.partial ? ' PARTIAL' : ''}  ${v.path}`,
          `  merkle root ${m.merkleRoot}`,
          ...(pipeline.describeManifest?.(m) ?? []),
          '  shards:',
          ...m.shards.map((s) => `    ${s.file}  ${s.rows} rows, ${s.tokens} tokens, ${s.bytes} bytes, sha256 ${s.sha256.slice(0, 16)}…`),
        ];
        return { value: m, text: lines.join('\n') };
      }))
      .command('head <version>', 'the first rows decoded back to text (packed rows too), loss-masked spans shaded on a terminal or [masked]...[/masked]', (c) =>
        common(c).positional('version', versionArg).option('n', { type: 'number', default: 3, describe: 'rows to show' }),
        run(async (a: Common & { version: string; n: number }) => {
          const { outDir } = await folders(a);
          const rows = await headRows(findVersion(outDir, a.version), a.n);
          return { value: rows.map(({ spans, ...r }) => ({ ...r, text: spans.map((s) => s.text).join(''), maskedSpans: spans.filter((s) => !s.trained).length })), text: formatHead(rows, process.stdout.isTTY === true) };
        }))
      .command('verify <version>', "re-check every shard's checksum and the version id", (c) => common(c).positional('version', versionArg), run(async (a: Common & { version: string }) => {
        const { outDir } = await folders(a);
        const v = findVersion(outDir, a.version);
        const r = await verifyVersion(v);
        return {
          value: { version: v.version, ...r },
          exitCode: r.ok ? 0 : 3,
          text: r.ok ? `${v.name}/${v.version} ok: ${v.manifest.shards.length} shard(s) verified` : [`${v.name}/${v.version} DAMAGED:`, ...r.problems.map((p) => `  ${p.file}: ${p.problem}`)].join('\n'),
        };
      }))
      .command('diff <a> <b>', 'what changed between two versions: sources, settings, documents, tokens', (c) =>
        common(c).positional('a', { type: 'string', demandOption: true, describe: 'the older version (id, prefix, name/version or latest)' }).positional('b', { type: 'string', demandOption: true, describe: 'the newer version' }),
        run(async (a: Common & { a: string; b: string }) => {
          const { outDir } = await folders(a);
          const d = diffVersions(findVersion(outDir, a.a), findVersion(outDir, a.b), pipeline.manifestDiff);
          return { value: d, text: formatDiff(d, pipeline.manifestDiff) };
        }))
      .command('pin <version>', "keep a version's closure through `cache gc` (also on a read-write remote)", (c) => common(c).positional('version', versionArg), run(async (a: Common & { version: string }) => {
        const r = await datasetPin(await cacheContext(dirOpts(a)), a.version, true);
        return { value: r, text: `pinned ${r.version}${r.changed ? '' : ' (already pinned)'}${r.remote ? ', also on the remote' : ''}${r.known ? '' : '\n  warning: this cache holds no root for it (build it here so gc can keep it)'}` };
      }))
      .command('unpin <version>', "let `cache gc` evict a version's closure again", (c) => common(c).positional('version', versionArg), run(async (a: Common & { version: string }) => {
        const r = await datasetPin(await cacheContext(dirOpts(a)), a.version, false);
        return { value: r, text: `unpinned ${r.version}${r.changed ? '' : ' (was not pinned)'}` };
      }))
      .demandCommand(1, 'name a dataset command: list, show, head, verify, diff, pin or unpin'),
  );
}
