/**
 * The plain `retrace build` without yargs (cli/main.ts): loading yargs and building its command
 * tree costs more than the rest of a no-op build, so the common invocations are read here.
 */
import type { BuildArgs } from './build.ts';

/**
 * `build` with nothing but --json, --config/-c, --cache-dir and --out (each at most once, values
 * not starting with "-"): the arguments yargs would give the build handler for it. Anything else
 * (another option, --help, a typo) returns undefined and takes the yargs path with its checks.
 */
export function plainBuild(argv: string[]): BuildArgs | undefined {
  if (argv[0] !== 'build') return undefined;
  const a: BuildArgs = { config: 'pipeline.config.ts', json: false, recheck: false, strict: false, 'latest-partial': false, events: false, 'repair-cache': false };
  const seen = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') {
      if (seen.has('json')) return undefined;
      seen.add('json');
      a.json = true;
      continue;
    }
    const m = /^(--config|-c|--cache-dir|--out)(?:=(.*))?$/s.exec(arg);
    if (!m) return undefined;
    const name = m[1] === '-c' ? 'config' : m[1].slice(2);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('-') || seen.has(name)) return undefined;
    seen.add(name);
    if (name === 'config') a.config = value;
    else if (name === 'cache-dir') a['cache-dir'] = value;
    else a.out = value;
  }
  return a;
}
