/**
 * The `retrace` command line: yargs builds typed options and calls the engine; nothing here
 * knows how a build works. Errors are printed once, with their code, item and hint.
 * Exit codes: 0 success; 1 error (nothing built); 2 usage error; 3 built, but some items failed
 * (listed in the summary) or a check (verify) found problems.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runBuild, runMerge, runPartition, runStatus, resolveDirs, type BuildSummary } from './build.ts';
import { resolvePartition } from './partition.ts';
import { loadConfig } from './config.ts';
import { diskFull, isDiskFull, RetraceError } from './errors.ts';
import { initHash } from './hash.ts';
import { LmdbCache } from './cache/lmdb-store.ts';
import { cacheContext, cacheExport, cacheGc, cacheImport, cachePull, cachePush, datasetPin } from './cache/commands.ts';
import type { TransferReport } from './cache/transfer.ts';
import { findVersion, listVersions, verifyVersion } from './dataset.ts';
import { explainItem, formatExplanation, matchItems } from './explain.ts';
import { NullReporter, PlainReporter, TtyReporter, type Reporter } from './reporter.ts';
import { parseBytes, parseDuration } from './units.ts';
import { diffVersions, formatDiff } from './dataset-diff.ts';
import { retracePipeline } from '../stages/pipeline.ts';

interface Common {
  config: string;
  'cache-dir'?: string;
  out?: string;
  json: boolean;
}

function reporterFor(json: boolean): Reporter {
  if (json) return new PlainReporter();
  return process.stderr.isTTY ? new TtyReporter() : new PlainReporter();
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text + '\n');
}

async function dirs(a: Common): Promise<{ cacheDir: string; outDir: string }> {
  const loaded = await loadConfig(a.config).catch((err) => {
    // Cache and dataset commands also work without a config: default folders next to cwd.
    if (err instanceof RetraceError && err.code === 'CONFIG_NOT_FOUND') return undefined;
    throw err;
  });
  if (!loaded) return { cacheDir: resolve(a['cache-dir'] ?? 'cache'), outDir: resolve(a.out ?? 'datasets') };
  return resolveDirs(loaded, { cacheDir: a['cache-dir'], outDir: a.out });
}

async function withCache<T>(a: Common, fn: (cache: LmdbCache) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  await initHash();
  const { cacheDir } = await dirs(a);
  if (!existsSync(join(cacheDir, 'lmdb')) && !opts.create) {
    throw new RetraceError('ITEM_NOT_FOUND', 'there is no cache here yet', {
      item: cacheDir,
      hint: 'build first, or pass the --cache-dir (or --config) the build used',
    });
  }
  const cache = LmdbCache.open(cacheDir);
  try {
    return await fn(cache);
  } finally {
    await cache.close();
  }
}

const human = (n: number): string => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

function common<T>(y: Argv<T>): Argv<T & Common> {
  return y
    .option('config', { alias: 'c', type: 'string', default: 'pipeline.config.ts', describe: 'pipeline config file (relative paths inside it resolve against its folder)' })
    .option('cache-dir', { type: 'string', describe: 'cache folder (default: cache.dir from the config, else <config folder>/cache); must be on a local disk' })
    .option('out', { type: 'string', describe: 'datasets folder (default: <config folder>/datasets)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object on stdout instead of text; no progress display' }) as Argv<T & Common>;
}

let exitCode = 0;

function stageLines(stages: BuildSummary['stages']): string[] {
  // Stages this build did not use (e.g. raw rendering in a trajectory build) stay in --json only.
  return Object.entries(stages).filter(([, s]) => s.items > 0).map(([n, s]) => `  ${n.padEnd(17)} ${String(s.items).padStart(6)} items  ${String(s.cached).padStart(6)} cached  ${String(s.computed).padStart(6)} computed  ${(s.ms / 1000).toFixed(1).padStart(6)} s`);
}

function failureLines(failures: BuildSummary['failures']): string[] {
  if (failures.length === 0) return [];
  return [`${failures.length} failure(s):`, ...failures.map((f) => `  ${f.code} ${f.stage} ${f.item}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`)];
}

function llmLine(llm: BuildSummary['llm']): string {
  const provider = typeof llm.provider === 'string' ? ` (${llm.provider}${typeof llm.model === 'string' ? ` ${llm.model}` : ''})` : '';
  const calls = typeof llm.calls === 'number' ? `${llm.calls} calls, ` : '';
  return `  llm${provider}: ${calls}${llm.requests} requests sent, ${llm.cached} cached answers, ${llm.promptTokens}+${llm.completionTokens} tokens`;
}

function printBuild(json: boolean, summary: BuildSummary): void {
  const excluded = (summary.excluded as Array<{ source: string; code: string; message: string }> | undefined) ?? [];
  if (summary.failures.length > 0 || excluded.length > 0) exitCode = 3;
  const excludedLines = summary.failures.length === 0 && excluded.length > 0 ? [`${excluded.length} source(s) excluded:`, ...excluded.map((x) => `  ${x.code} ${x.source}: ${x.message}`)] : [];
  print(
    json,
    summary,
    [
      `built ${summary.name} version ${summary.version}`,
      `  ${summary.path}`,
      `  ${summary.documents} documents, ${summary.tokens} tokens, ${summary.shards} shard(s), ${(summary.ms / 1000).toFixed(1)} s`,
      ...stageLines(summary.stages),
      llmLine(summary.llm),
      ...(summary.skipped ? [`  ${summary.skipped} file(s) skipped (reasons in manifest.json)`] : []),
      ...failureLines(summary.failures),
      ...excludedLines,
    ].join('\n'),
  );
}

function transferLine(verb: string, r: TransferReport): string {
  const s = Math.max(r.ms, 1) / 1000;
  return `${verb} ${r.version}: ${r.actionsMoved}/${r.actions} result(s), ${r.blobsMoved}/${r.blobs} blob(s), ${human(r.bytesMoved)} in ${s.toFixed(1)} s (${(r.bytesMoved / 2 ** 20 / s).toFixed(1)} MiB/s)${r.unavailable ? `; ${r.unavailable} result(s) unavailable (they will be computed)` : ''}`;
}

const cli = yargs(hideBin(process.argv))
  .scriptName('retrace')
  .usage('$0 <command> [options]\n\nBuilds pretraining datasets from code repositories, caching every intermediate artifact by content.\nRun it from a folder holding pipeline.config.ts (or pass --config).')
  .command(
    'build',
    'build the dataset: only what changed since the last build is computed',
    (y) =>
      common(y)
        .option('workers', { type: 'number', describe: 'worker threads for parsing and tokenization (default: config `workers`, else all cores)' })
        .check((x) => (x.workers === undefined || (Number.isInteger(x.workers) && x.workers >= 1) ? true : '--workers must be a whole number >= 1'))
        .option('recheck', { type: 'boolean', default: false, describe: 'do not trust file stats: re-read and re-hash every input even when nothing seems to have changed since the last build' })
        .option('shard', { type: 'string', describe: 'scale-out worker: build only partition I of N (I/N, zero-based), or `auto` to take it from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX; then run `retrace merge`' })
        .example('$0 build --json', 'build and print the summary as JSON')
        .example('$0 build --shard 2/8', 'scale-out: build partition 2 of 8 into the (shared) cache'),
    async (a) => {
      const reporter = reporterFor(a.json);
      const opts = { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, workers: a.workers, recheck: a.recheck, reporter };
      if (a.shard !== undefined) {
        const loaded = await loadConfig(a.config);
        const partition = resolvePartition(a.shard, process.env, loaded.config.partitions);
        const p = await runPartition(retracePipeline, { ...opts, partition });
        if (p.failures.length > 0) exitCode = 3;
        print(a.json, p, [
          `built partition ${partition.index}/${partition.count} of ${p.name}: ${p.sources} source(s), ${p.documents} document(s), ${(p.ms / 1000).toFixed(1)} s`,
          ...stageLines(p.stages),
          `  llm: ${p.llm.requests} requests, ${p.llm.cached} cached answers`,
          ...failureLines(p.failures),
          `when every partition is built: retrace merge --shards ${partition.count}`,
        ].join('\n'));
        return;
      }
      const summary = await runBuild(retracePipeline, opts);
      printBuild(a.json, summary);
    },
  )
  .command(
    'merge',
    'scale-out: assemble the dataset version from the partitions that `build --shard I/N` workers left in the shared cache (computes only the shard files)',
    (y) => common(y).option('shards', { type: 'number', describe: 'the number of partitions N (default: config `partitions`)' }),
    async (a) => {
      const loaded = await loadConfig(a.config);
      const count = a.shards ?? loaded.config.partitions;
      if (!count || count < 1) throw new RetraceError('USAGE', 'the number of partitions is unknown', { hint: 'give --shards N, or set `partitions` in the config' });
      const summary = await runMerge(retracePipeline, { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, reporter: reporterFor(a.json), count });
      printBuild(a.json, summary);
    },
  )
  .command(
    'status',
    'what a build would compute now, and why (answers from the cache only; computes nothing)',
    (y) => common(y),
    async (a) => {
      const st = await runStatus(retracePipeline, { config: a.config, cacheDir: a['cache-dir'], outDir: a.out, reporter: new NullReporter() });
      const lines = [st.upToDate ? 'up to date: a build would compute nothing' : 'stale: a build would compute'];
      for (const [n, s] of Object.entries(st.stages)) lines.push(`  ${n.padEnd(17)} ${String(s.cached).padStart(6)} cached  ${String(s.stale).padStart(6)} stale`);
      for (const s of st.stale.slice(0, 50)) lines.push(`  ${s.stage} ${s.item}: ${s.reason === 'new' ? 'never built' : s.reason.join('; ') || 'dependency changed'}`);
      if (st.stale.length > 50) lines.push(`  ... and ${st.stale.length - 50} more`);
      if (!st.upToDate) lines.push('  (items downstream of a stale item are checked once it is rebuilt)');
      for (const [what, n] of Object.entries(st.estimates)) lines.push(`  estimate: ${what} ${n}`);
      print(a.json, st, lines.join('\n'));
    },
  )
  .command(
    'explain <item>',
    'why an item re-ran: which part of its key changed between the last two builds that computed it',
    (y) => common(y).positional('item', { type: 'string', demandOption: true, describe: 'an item id (repo, repo:path, shard file) or a path suffix' }),
    async (a) => {
      await withCache(a, async (cache) => {
        const found = matchItems(cache, a.item as string);
        if (found.length === 0) throw new RetraceError('ITEM_NOT_FOUND', `no item named "${a.item}" in the cache`, { item: a.item as string, hint: 'name a repository (yargs) or repo:path (yargs:build/lib/yargs-factory.js); `retrace show facts <repo>` lists its files' });
        const ex = found.map(explainItem);
        print(a.json, ex, ex.map(formatExplanation).join('\n\n'));
      });
    },
  )
  .command(
    'show <stage> <item>',
    "print an item's cached artifact: `show facts <repo>` (file tree, dependency graph, order), `show parse <repo:path>`, any stage by name",
    (y) => common(y).positional('stage', { type: 'string', demandOption: true, describe: 'a stage name (ingest, parse, graph, plan, implement, search, tokenize, shard, ...) or facts (the graph stage)' }).positional('item', { type: 'string', demandOption: true, describe: 'a repository (yargs) or repo:path (yargs:build/lib/yargs-factory.js)' }),
    async (a) => {
      await withCache(a, async (cache) => {
        const stage = retracePipeline.showAliases?.[a.stage as string] ?? (a.stage as string);
        const names = retracePipeline.stages.map((s) => s.name);
        if (!names.includes(stage)) throw new RetraceError('USAGE', `unknown stage "${a.stage}"`, { item: a.stage as string, hint: `stages: ${names.join(', ')}; aliases: ${Object.keys(retracePipeline.showAliases ?? {}).join(', ')}` });
        const found = matchItems(cache, a.item as string).filter((s) => s.stage === stage);
        if (found.length === 0) throw new RetraceError('ITEM_NOT_FOUND', `no ${stage} item named "${a.item}" in the cache`, { item: a.item as string, hint: 'build first; items are a repository or repo:path (`retrace show facts <repo>` lists its files); search items exist only with `search: { enabled: true }`' });
        const out: string[] = [];
        const values: unknown[] = [];
        for (const st of found) {
          const bytes = await cache.getBlob(st.output);
          if (!bytes) throw new RetraceError('CACHE_CORRUPT', `the output of ${stage} ${st.item} is missing`, { item: st.item, hint: 'build again' });
          const def = retracePipeline.stages.find((s) => s.name === stage)!;
          const value = def.codec ? def.codec.decode(bytes) : JSON.parse(new TextDecoder().decode(bytes));
          values.push(value);
          out.push(`${stage} ${st.item}\n` + (retracePipeline.format?.(stage, value) ?? JSON.stringify(value, null, 2)));
        }
        print(a.json, values.length === 1 ? values[0] : values, out.join('\n'));
      });
    },
  )
  .command('cache', 'inspect and maintain the cache', (y) =>
    y
      .command('stats', 'entries and bytes per store, entries per stage', (yy) => common(yy), async (a) => {
        await withCache(a, async (cache) => {
          const s = await cache.stats();
          print(a.json, { dir: cache.dir, ...s }, [`cache ${cache.dir}`, `  actions ${s.actions}, blobs ${s.blobs} (${human(s.blobBytes)} stored), items ${s.items}, file ${human(s.fileBytes)}`, ...Object.entries(s.byStage).map(([k, v]) => `  ${k.padEnd(17)} ${v}`)].join('\n'));
        });
      })
      .command('verify', 're-hash every blob and check every result points at existing blobs', (yy) => common(yy).option('repair', { type: 'boolean', default: false, describe: 'remove damaged entries so the next build recomputes them' }), async (a) => {
        await withCache(a, async (cache) => {
          const r = await cache.verify();
          const damaged = r.corruptBlobs.length + r.missingBlobs.length + r.badRecords.length;
          if (damaged && a.repair) await cache.repair(r);
          if (damaged && !a.repair) exitCode = 3;
          print(a.json, { ok: damaged === 0, repaired: damaged > 0 && a.repair, ...r }, [
            damaged === 0 ? `cache ok: ${r.blobsChecked} blobs re-hashed, ${r.actionsChecked} results checked` : `cache damaged: ${r.corruptBlobs.length} corrupt blob(s), ${r.missingBlobs.length} result(s) missing blobs, ${r.badRecords.length} bad record(s)${a.repair ? ' (repaired: they will be recomputed)' : ' (run with --repair)'}`,
            ...r.missingBlobs.slice(0, 20).map((m) => `  missing ${m.blob} for ${m.stage} ${m.item}`),
          ].join('\n'));
        });
      })
      .command('gc', 'evict results unused for --max-age, then least recently used ones until the cache fits --max-size', (yy) =>
        common(yy)
          .option('max-age', { type: 'string', describe: 'e.g. 30d, 12h' })
          .option('max-size', { type: 'string', describe: 'e.g. 10GB, 500MB' })
          .option('remote', { type: 'boolean', default: false, describe: 'also collect the remote cache (it must allow listing); age there is time since upload' })
          .check((x) => (x['max-age'] || x['max-size'] ? true : 'give --max-age and/or --max-size')),
        async (a) => {
          // Everything reachable from pinned versions (`retrace dataset pin`) is kept.
          const r = await cacheGc(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), {
            maxAgeMs: a['max-age'] ? parseDuration(a['max-age']) : undefined,
            maxBytes: a['max-size'] ? parseBytes(a['max-size']) : undefined,
            remote: a.remote,
          });
          print(a.json, r, [
            `gc: removed ${r.actionsRemoved} result(s) and ${r.blobsRemoved} blob(s), freed ${human(r.bytesFreed)}; kept ${r.pinned.length} pinned version(s)${r.liveBuilds ? `; ${r.liveBuilds} build(s) running: kept ${r.keptForBuilds} entr${r.keptForBuilds === 1 ? 'y' : 'ies'} they may use` : ''}`,
            ...r.unknownPins.map((p) => `  warning: pinned ${p} has no root in this cache (build it here to protect it)`),
            ...(r.remote ? [`remote gc: removed ${r.remote.actionsRemoved} result(s), ${r.remote.rootsRemoved} root(s) and ${r.remote.blobsRemoved} blob(s), freed ${human(r.remote.bytesFreed)}`] : []),
          ].join('\n'));
        })
      .command('push [version]', 'send a version\'s closure (every result and blob needed to rebuild it) to the remote cache, skipping what it has', (yy) =>
        common(yy).positional('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' }),
        async (a) => {
          const r = await cachePush(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.version);
          print(a.json, r, transferLine('pushed', r));
        })
      .command('pull [version]', 'fetch a version\'s closure from the remote cache into the local one', (yy) =>
        common(yy).positional('version', { type: 'string', default: 'latest', describe: 'version id, name/version or latest (as last pushed)' }),
        async (a) => {
          const r = await cachePull(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.version);
          if (r.unavailable > 0) exitCode = 3;
          print(a.json, r, transferLine('pulled', r));
        })
      .command('export <file>', 'write a version\'s closure to one file (gzip if it ends in .gz or .tgz), for machines without a shared store', (yy) =>
        common(yy).positional('file', { type: 'string', demandOption: true, describe: 'the file to write (.tgz or .gz: gzip)' }).option('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' }),
        async (a) => {
          const r = await cacheExport(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.file as string, a.version);
          print(a.json, r, `${transferLine('exported', r)} to ${r.file}`);
        })
      .command('import <file>', 'load the versions of an exported file into the local cache (every blob re-hashed)', (yy) =>
        common(yy).positional('file', { type: 'string', demandOption: true, describe: 'a file written by `retrace cache export`' }),
        async (a) => {
          if (!existsSync(a.file as string)) throw new RetraceError('ITEM_NOT_FOUND', 'no such file', { item: resolve(a.file as string), hint: 'give a file written by `retrace cache export`' });
          const rs = await cacheImport(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.file as string);
          if (rs.some((r) => r.unavailable > 0)) exitCode = 3;
          print(a.json, rs, rs.map((r) => transferLine('imported', r)).join('\n'));
        })
      .demandCommand(1, 'name a cache command: stats, verify, gc, push, pull, export or import'),
  )
  .command('dataset', 'list, show, verify and compare built dataset versions', (y) =>
    y
      .command('list', 'every built version', (yy) => common(yy), async (a) => {
        const { outDir } = await dirs(a);
        const vs = listVersions(outDir);
        print(a.json, vs.map((v) => ({ name: v.name, version: v.version, latest: v.latest, path: v.path, shards: v.manifest.shards.length, documents: (v.manifest.documents as unknown[] | undefined)?.length, tokens: v.manifest.shards.reduce((n, s) => n + s.tokens, 0) })),
          vs.length === 0 ? `no dataset versions under ${outDir}` : vs.map((v) => `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}  ${v.manifest.shards.length} shard(s), ${v.manifest.shards.reduce((n, s) => n + s.tokens, 0)} tokens`).join('\n'));
      })
      .command('show <version>', 'a version\'s manifest: sources, settings, shards', (yy) => common(yy).positional('version', { type: 'string', demandOption: true, describe: 'version id, prefix, name/version or latest' }), async (a) => {
        const { outDir } = await dirs(a);
        const v = findVersion(outDir, a.version as string);
        const m = v.manifest as Record<string, any>;
        const lines = [
          `${v.name}/${v.version}${v.latest ? ' (latest)' : ''}  ${v.path}`,
          `  format ${m.format}, layout ${m.output?.layout}, ${m.output?.format}/${m.output?.compression}, tokenizer ${m.tokenizer?.name} (bos ${m.tokenizer?.bos}, eos ${m.tokenizer?.eos})`,
          `  merkle root ${m.merkleRoot}`,
          '  sources:',
          ...(m.sources ?? []).map((s: any) => `    ${s.name ?? JSON.stringify(s.source)}${s.commit ? ' @' + s.commit.slice(0, 12) : ''}: ${s.files ?? 0} files, ${s.skipped?.length ?? 0} skipped${s.excluded ? `, EXCLUDED (${s.excluded.code})` : ''}`),
          '  shards:',
          ...m.shards.map((s: any) => `    ${s.file}  ${s.rows} rows, ${s.tokens} tokens, ${s.bytes} bytes, sha256 ${s.sha256.slice(0, 16)}…`),
        ];
        if (m.search) lines.push('  search:', ...Object.entries(m.search).map(([k, val]) => `    ${k}: ${typeof val === 'number' ? +val.toFixed(4) : JSON.stringify(val)}`));
        print(a.json, m, lines.join('\n'));
      })
      .command('verify <version>', 're-check every shard\'s checksum and the version id', (yy) => common(yy).positional('version', { type: 'string', demandOption: true, describe: 'version id, prefix, name/version or latest' }), async (a) => {
        const { outDir } = await dirs(a);
        const v = findVersion(outDir, a.version as string);
        const r = await verifyVersion(v);
        if (!r.ok) exitCode = 3;
        print(a.json, { version: v.version, ...r }, r.ok ? `${v.name}/${v.version} ok: ${v.manifest.shards.length} shard(s) verified` : [`${v.name}/${v.version} DAMAGED:`, ...r.problems.map((p) => `  ${p.file}: ${p.problem}`)].join('\n'));
      })
      .command('diff <a> <b>', 'what changed between two versions: sources, settings, documents, tokens', (yy) => common(yy).positional('a', { type: 'string', demandOption: true, describe: 'the older version (id, prefix, name/version or latest)' }).positional('b', { type: 'string', demandOption: true, describe: 'the newer version' }), async (a) => {
        const { outDir } = await dirs(a);
        const d = diffVersions(findVersion(outDir, a.a as string), findVersion(outDir, a.b as string));
        print(a.json, d, formatDiff(d));
      })
      .command('pin <version>', 'keep a version\'s closure through `cache gc` (also on a read-write remote)', (yy) => common(yy).positional('version', { type: 'string', demandOption: true, describe: 'version id, prefix, name/version or latest' }), async (a) => {
        const r = await datasetPin(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.version as string, true);
        print(a.json, r, `pinned ${r.version}${r.changed ? '' : ' (already pinned)'}${r.remote ? ', also on the remote' : ''}${r.known ? '' : '\n  warning: this cache holds no root for it (build it here so gc can keep it)'}`);
      })
      .command('unpin <version>', 'let `cache gc` evict a version\'s closure again', (yy) => common(yy).positional('version', { type: 'string', demandOption: true, describe: 'version id, prefix, name/version or latest' }), async (a) => {
        const r = await datasetPin(await cacheContext({ config: a.config, cacheDir: a['cache-dir'], outDir: a.out }), a.version as string, false);
        print(a.json, r, `unpinned ${r.version}${r.changed ? '' : ' (was not pinned)'}`);
      })
      .demandCommand(1, 'name a dataset command: list, show, verify, diff, pin or unpin'),
  )
  .demandCommand(1, 'name a command; see retrace --help')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version(false)
  .fail((msg, err) => {
    // A command's own error passes through; anything yargs rejects (unknown option, failed
    // check) is a usage error. A full disk is never a usage error (issue 19).
    if (err instanceof RetraceError) throw err;
    if (err && isDiskFull(err)) throw diskFull(err);
    process.stderr.write(`error USAGE: ${msg ?? err?.message}\n(retrace --help lists commands and options)\n`);
    process.exit(2);
  })
  .wrap(Math.min(120, process.stdout.columns ?? 100));

try {
  await cli.parseAsync();
  process.exitCode = exitCode;
} catch (err) {
  if (!(err instanceof RetraceError && err.code !== 'USAGE') && isDiskFull(err)) err = diskFull(err);
  if (err instanceof RetraceError) {
    process.stderr.write(`error ${err.describe()}\n`);
    process.exitCode = err.code === 'USAGE' ? 2 : 1;
  } else {
    process.stderr.write(`error INTERNAL: ${(err as Error)?.stack ?? String(err)}\n(this is a bug in retrace; please report it with the command you ran)\n`);
    process.exitCode = 1;
  }
}
