/**
 * The Slurm templates on a real single-node Slurm cluster on loopback (scripts/slurm-local.sh):
 * deploy/slurm/submit.sh submits a 4-task job array of `build --shard` and the dependent merge;
 * the dataset equals a single-machine build, byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Project, ROOT, BIN } from './helpers/project.ts';

const p = new Project('retrace-slurm-');
const names = ['kiwi', 'lime', 'mango', 'nut', 'olive'];
for (const n of names) {
  p.repo(n, {
    'index.js': `const { scale } = require('./lib/scale');\nmodule.exports = (x) => scale(x, ${n.length});\n`,
    'lib/scale.js': `exports.scale = function scale(x, k) {\n  return x * k; // ${n}\n};\n`,
  });
}
const sources = names.map((n) => ({ dir: `repos/${n}` }));
p.config({ name: 'slurmed', format: 'raw', sources, workers: 1 });

function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(cmd, args, { cwd: p.dir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
}

test('a Slurm job array of 4 partitions + the dependent merge = the single-machine build', () => {
  const start = sh('bash', [join(ROOT, 'scripts/slurm-local.sh'), 'start']);
  assert.is(start.status, 0, `slurm did not start: ${start.stderr}`);
  try {
    const submit = sh('bash', [join(ROOT, 'deploy/slurm/submit.sh'), '--shards', '4', '--wait', '--logs', p.path('logs'), '--build-opts', '--cpus-per-task=1 --mem=1G', '--merge-opts', '--cpus-per-task=1 --mem=1G'], {
      RETRACE: `${process.execPath} ${BIN}`,
      RETRACE_PROJECT: p.dir,
      RETRACE_CACHE_DIR: p.path('cluster-cache'),
      RETRACE_OUT: p.path('cluster-out'),
      RETRACE_ARGS: '--json',
      SUBMIT_POLL_SECONDS: '1',
    });
    const logs = readdirSync(p.path('logs')).map((f) => `== ${f}\n${readFileSync(p.path('logs', f), 'utf8')}`).join('\n');
    assert.is(submit.status, 0, `submit.sh failed: ${submit.stderr}\n${logs}`);
    assert.match(submit.stdout, /^array \d+\nmerge \d+\n$/);
    const builds = readdirSync(p.path('logs')).filter((f) => f.startsWith('retrace-build-'));
    assert.is(builds.length, 4, 'one log per array task');
    const single = p.run(['build', '--json'], { cacheDir: p.path('single-cache'), outDir: p.path('single-out') });
    assert.is(single.code, 0, single.stderr);
    const merged = join(p.path('cluster-out'), 'slurmed', single.json.version);
    // build.json (the last build's summary: timings, cache path) is expected to differ (issue 16).
    for (const f of ['manifest.json', 'README.md', ...readdirSync(join(single.json.path, 'data')).map((x) => join('data', x))]) {
      assert.ok(readFileSync(join(single.json.path, f)).equals(readFileSync(join(merged, f))), `${f} differs from the single-machine build`);
    }
  } finally {
    sh('bash', [join(ROOT, 'scripts/slurm-local.sh'), 'stop']);
  }
});

test.after(() => p.cleanup());
test.run();
