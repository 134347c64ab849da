/**
 * The `retrace` command line: yargs builds typed options and calls the engine with the Retrace
 * pipeline; nothing here knows how a build works. Each command group lives in its own file and
 * every handler returns `{ value, text, exitCode }` to the one printer below (JSON with --json,
 * text otherwise). Errors are printed once, with their code, item and hint.
 * Exit codes: 0 success; 1 error (nothing built); 2 usage error; 3 built, but some items failed
 * (listed in the summary) or a check (verify) found problems.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { RetraceError, systemError } from '../src/errors.ts';
import { writeJsonPieces } from '../src/json-stream.ts';
import { errorText } from './error-text.ts';
import { plainBuild } from './plain-build.ts';
import type { Result } from './common.ts';

// Start time matters (a no-op build is mostly process start): yargs, its help rendering and the
// command modules load only on the paths that need them. A plain `retrace build` (the options
// plainBuild accepts) runs the build command without yargs; everything else goes through yargs.

let exitCode = 0;

/**
 * How far V8 lets a heap grow past what its last full collection left live (every thread of the
 * process: the flag is global). By default up to 4x under a high allocation rate, and a build's
 * main thread allocates fast and keeps little (issue 17): at 437 packages a trajectory build's
 * main heap reached 365 MB used with 30-80 MB live (heap snapshots), most of the growth of its
 * peak RSS with the corpus. 1.5x keeps each heap near its live set (that build alone: peak
 * 1,258 -> 1,036 MB, anonymous 876 -> 666 MB) for more frequent full collections (CPU cost within
 * the noise of a shared machine, up to ~10%: bench/corpus-scale.rss.txt).
 */
const HEAP_GROWING_PERCENT = 50;
setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);

/** `retrace --version`: the package version and the Node.js running it. */
function retraceVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `retrace ${pkg.version} (node ${process.version})`;
}

// `retrace dataset head latest | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

/** The one printer: a handler's result as JSON (--json) or text, and its exit code. */
function print(json: boolean, r: Result): void {
  exitCode = r.exitCode ?? 0;
  if (r.printed) return;
  // JSON in pieces: `dataset show --json` of a manifest of many sources is larger than a string can be.
  if (json) writeJsonPieces(r.value ?? null, 2, (piece) => process.stdout.write(piece));
  process.stdout.write(json ? '\n' : r.text + '\n');
}

function printed(handler: (a: any) => Promise<Result>) {
  return async (a: any): Promise<void> => print(a.json, await handler(a));
}

async function withYargs(argv: string[]): Promise<void> {
  const [{ default: yargs }, { retracePipeline: pipeline }, { buildCommands }, { cacheCommands }, { datasetCommands }, { inspectCommands }, { reportCommands }] = await Promise.all([
    import('yargs'),
    import('../stages/pipeline.ts'),
    import('./build.ts'),
    import('./cache.ts'),
    import('./dataset.ts'),
    import('./inspect.ts'),
    import('./report.ts'),
  ]);
  let cli = yargs(argv)
    .scriptName('retrace')
    .usage('$0 <command> [options]\n\nBuilds pretraining datasets from code repositories, caching every intermediate artifact by content.\nRun it from a folder holding pipeline.config.ts (or pass --config).');
  cli = buildCommands(cli, pipeline, printed);
  cli = inspectCommands(cli, pipeline, printed);
  cli = cacheCommands(cli, printed);
  cli = datasetCommands(cli, pipeline, printed);
  cli = reportCommands(cli, printed);
  cli = cli
    .demandCommand(1, 'name a command; see retrace --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    // `version` is a positional of several commands, so yargs' own --version stays off; the
    // top-level `retrace --version` is answered before parsing.
    .version(false)
    .epilogue('retrace --version prints the version.')
    .fail((msg, err) => {
      // A command's own error passes through; anything yargs rejects (unknown option, failed
      // check) is a usage error.
      const mapped = systemError(err);
      if (mapped instanceof RetraceError) throw mapped;
      process.stderr.write(`error USAGE: ${msg ?? err?.message}\n(retrace --help lists commands and options)\n`);
      process.exit(2);
    })
    .wrap(Math.min(120, process.stdout.columns ?? 100));
  await cli.parseAsync();
}

// The one boundary where exceptions become exit codes.
try {
  const argv = process.argv.slice(2);
  const build = plainBuild(argv);
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) process.stdout.write(retraceVersion() + '\n');
  else if (build) {
    const [{ retracePipeline }, { buildCommand }] = await Promise.all([import('../stages/pipeline.ts'), import('./build.ts')]);
    print(build.json, await buildCommand(retracePipeline, build));
  } else await withYargs(argv);
  process.exitCode = exitCode;
} catch (caught) {
  const { text, exitCode: code } = errorText(caught);
  process.stderr.write(text);
  process.exitCode = code;
}

// Never a hang at exit: once the command has finished, a handle that something left open (a
// stuck native thread, a child) does not keep the process alive for more than 30 s.
setTimeout(() => {
  process.stderr.write('warning EXIT_FORCED: the command finished but something kept the process alive for 30 s; exiting\n');
  process.exit(process.exitCode ?? 0);
}, 30_000).unref();
