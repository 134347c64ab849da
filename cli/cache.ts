/** `retrace cache stats|verify|gc|push|pull|export|import`: the cache's maintenance commands. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { cacheContext, cacheExport, cacheGc, cacheImport, cachePull, cachePush, cacheVerify, salvageChild } from '../src/cache/commands.ts';
import { verifyLines } from '../src/cache/verify-report.ts';
import type { TransferReport } from '../src/cache/transfer.ts';
import { RetraceError } from '../src/errors.ts';
import { parseBytes, parseDuration } from '../src/units.ts';
import { common, dirOpts, folders, human, withCache, type Common, type Result } from './common.ts';

function transferLine(verb: string, r: TransferReport): string {
  const s = Math.max(r.ms, 1) / 1000;
  return `${verb} ${r.version}: ${r.actionsMoved}/${r.actions} result(s), ${r.blobsMoved}/${r.blobs} blob(s), ${human(r.bytesMoved)} in ${s.toFixed(1)} s (${(r.bytesMoved / 2 ** 20 / s).toFixed(1)} MiB/s)${r.unavailable ? `; ${r.unavailable} result(s) unavailable (they will be computed)` : ''}`;
}

export function cacheCommands<T>(y: Argv<T>, run: (handler: (a: any) => Promise<Result>) => (a: any) => Promise<void>): Argv<T> {
  return y.command('cache', 'inspect and maintain the cache', (yy) =>
    yy
      .command('stats', 'entries and bytes per store, entries per stage', (c) => common(c), run((a: Common) =>
        withCache(a, async (cache) => {
          const s = await cache.stats();
          return { value: { dir: cache.dir, ...s }, text: [`cache ${cache.dir}`, `  actions ${s.actions}, blobs ${s.blobs} (${human(s.blobBytes)} stored), items ${s.items}, file ${human(s.fileBytes)}`, ...Object.entries(s.byStage).map(([k, v]) => `  ${k.padEnd(17)} ${v}`)].join('\n') };
        }),
      ))
      .command('verify', "check every cache entry (blobs re-hashed, records and item histories against their schema, every result's blobs present) and the environment itself", (c) => common(c).option('repair', { type: 'boolean', default: false, describe: 'remove damaged entries so the next build recomputes them; a damaged environment is salvaged into a fresh one (the damaged one is moved aside)' }), run(async (a: Common & { repair: boolean }): Promise<Result> => {
        const { cacheDir } = await folders(a);
        if (!existsSync(join(cacheDir, 'lmdb'))) throw new RetraceError('ITEM_NOT_FOUND', 'there is no cache here yet', { item: cacheDir, hint: 'build first, or pass the --cache-dir (or --config) the build used' });
        const v = await cacheVerify(cacheDir, { repair: a.repair });
        return { value: v, text: verifyLines(v).join('\n'), exitCode: v.ok ? 0 : 3 };
      }))
      // Internal: the salvage of a damaged environment runs in a child process (LMDB may crash on a damaged page).
      .command('salvage-into <from> <to>', false, (c) => c.positional('from', { type: 'string', demandOption: true }).positional('to', { type: 'string', demandOption: true }).option('from-range', { type: 'string' }), async (a) => {
        process.stdout.write(JSON.stringify(await salvageChild(a.from as string, a.to as string, a['from-range'])) + '\n');
      })
      .command('gc', 'evict results unused for --max-age, then least recently used ones until the cache fits --max-size', (c) =>
        common(c)
          .option('max-age', { type: 'string', describe: 'e.g. 30d, 12h' })
          .option('max-size', { type: 'string', describe: 'e.g. 10GB, 500MB' })
          .option('remote', { type: 'boolean', default: false, describe: 'also collect the remote cache (it must allow listing); age there is time since upload' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'say what would be removed and freed; remove nothing (local cache only)' })
          .option('keep-latest', { type: 'boolean', default: true, describe: 'keep the closure of the version `latest` points at in each dataset (complete versions only); --no-keep-latest lets gc evict it' })
          .check((x) => (x['max-age'] || x['max-size'] ? true : 'give --max-age and/or --max-size')),
        run(async (a: Common & { 'max-age'?: string; 'max-size'?: string; remote: boolean; 'dry-run': boolean; 'keep-latest': boolean }) => {
          // Everything reachable from pinned versions (`retrace dataset pin`) and from each dataset's latest complete version is kept.
          const r = await cacheGc(await cacheContext(dirOpts(a)), {
            maxAgeMs: a['max-age'] ? parseDuration(a['max-age']) : undefined,
            maxBytes: a['max-size'] ? parseBytes(a['max-size']) : undefined,
            remote: a.remote,
            dryRun: a['dry-run'],
            keepLatest: a['keep-latest'],
          });
          return {
            value: r,
            text: [
              r.dryRun
                ? `gc --dry-run: would remove ${r.actionsRemoved} result(s) and ${r.blobsRemoved} blob(s), freeing ${human(r.bytesFreed)}; nothing was removed`
                : `gc: removed ${r.actionsRemoved} result(s) and ${r.blobsRemoved} blob(s), freed ${human(r.bytesFreed)}`,
              `  kept ${r.pinned.length} pinned version(s) and the latest complete version of ${r.latest.length} dataset(s)${r.latest.length ? `: ${r.latest.join(', ')}` : ''}`,
              ...(r.liveBuilds ? [`  ${r.liveBuilds} build(s) running: kept ${r.keptForBuilds} entr${r.keptForBuilds === 1 ? 'y' : 'ies'} they may use`] : []),
              ...r.unknownPins.map((p) => `  warning: pinned ${p} has no root in this cache (build it here to protect it)`),
              ...(r.remote ? [`remote gc: removed ${r.remote.actionsRemoved} result(s), ${r.remote.rootsRemoved} root(s) and ${r.remote.blobsRemoved} blob(s), freed ${human(r.remote.bytesFreed)}`] : []),
            ].join('\n'),
          };
        }))
      .command('push [version]', "send a version's closure (every result and blob needed to rebuild it) to the remote cache, skipping what it has", (c) =>
        common(c).positional('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' }),
        run(async (a: Common & { version: string }) => {
          const r = await cachePush(await cacheContext(dirOpts(a)), a.version);
          return { value: r, text: transferLine('pushed', r) };
        }))
      .command('pull [version]', "fetch a version's closure from the remote cache into the local one", (c) =>
        common(c).positional('version', { type: 'string', default: 'latest', describe: 'version id, name/version or latest (as last pushed)' }),
        run(async (a: Common & { version: string }) => {
          const r = await cachePull(await cacheContext(dirOpts(a)), a.version);
          return { value: r, text: transferLine('pulled', r), exitCode: r.unavailable > 0 ? 3 : 0 };
        }))
      .command('export <file>', "write a version's closure to one file (gzip if it ends in .gz or .tgz), for machines without a shared store", (c) =>
        common(c).positional('file', { type: 'string', demandOption: true, describe: 'the file to write (.tgz or .gz: gzip)' }).option('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' }),
        run(async (a: Common & { file: string; version: string }) => {
          const r = await cacheExport(await cacheContext(dirOpts(a)), a.file, a.version);
          return { value: r, text: `${transferLine('exported', r)} to ${r.file}` };
        }))
      .command('import <file>', 'load the versions of an exported file into the local cache (every blob re-hashed)', (c) =>
        common(c).positional('file', { type: 'string', demandOption: true, describe: 'a file written by `retrace cache export`' }),
        run(async (a: Common & { file: string }) => {
          if (!existsSync(a.file)) throw new RetraceError('ITEM_NOT_FOUND', 'no such file', { item: resolve(a.file), hint: 'give a file written by `retrace cache export`' });
          const rs = await cacheImport(await cacheContext(dirOpts(a)), a.file);
          return { value: rs, text: rs.map((r) => transferLine('imported', r)).join('\n'), exitCode: rs.some((r) => r.unavailable > 0) ? 3 : 0 };
        }))
      .demandCommand(1, 'name a cache command: stats, verify, gc, push, pull, export or import'),
  );
}
