/**
 * Library-level stress of LMDB open options under several processes (issue 19): each round starts
 * P processes on one fresh environment; each opens it with the options under test and does what a
 * build does to the cache (async puts of small and 256 KiB values, unawaited "usedAt" refreshes,
 * read-modify-write transactions, range scans, removes like gc, conditional writes) and closes
 * with writes still queued. A round fails when a process exits non-zero, prints an MDB_ error, or
 * does not finish within the timeout (a hang; it is killed).
 *
 *   node --import tsx bench/lmdb-concurrency.ts [--rounds 50] [--procs 4] [--ops 400] [--variants overlapping,safe]
 *
 * Variants: `overlapping` = lmdb-js defaults (overlappingSync: true on Linux); `safe` = the options
 * src/cache/lmdb-store.ts opens with (LMDB_OPEN_OPTIONS).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { LMDB_OPEN_OPTIONS } from '../src/cache/lmdb-store.ts';

const VARIANTS: Record<string, Record<string, unknown>> = {
  overlapping: { overlappingSync: true },
  safe: { ...LMDB_OPEN_OPTIONS },
};

const argv = process.argv;
const arg = (name: string, d: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : d);

if (argv[2] === '--child') {
  await child(argv[3], JSON.parse(argv[4]) as Record<string, unknown>, Number(argv[5]), Number(argv[6]));
} else {
  await parent();
}

async function child(dir: string, options: Record<string, unknown>, seed: number, ops: number): Promise<void> {
  let s = seed;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
  const root = open({ path: dir, maxDbs: 8, mapSize: 2 ** 40, ...options });
  const actions = root.openDB<Record<string, unknown>, string>({ name: 'actions', encoding: 'msgpack' });
  const blobs = root.openDB<Buffer, string>({ name: 'blobs', encoding: 'binary', compression: { threshold: 4096 } } as never);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < ops; i++) {
    const k = `k${rnd(500)}`;
    switch (rnd(8)) {
      case 0:
      case 1: {
        const size = rnd(10) === 0 ? 256 * 1024 : 64 + rnd(4000);
        const b = Buffer.alloc(size, rnd(256));
        if (!blobs.doesExist(k)) pending.push(blobs.put(k, b));
        break;
      }
      case 2: {
        const rec = actions.get(k);
        if (rec) void actions.put(k, { ...rec, usedAt: Date.now() });
        else pending.push(actions.put(k, { output: k, refs: [k], usedAt: Date.now() }));
        break;
      }
      case 3:
        pending.push(actions.transaction(() => {
          const old = actions.get('counter') as { n: number } | undefined;
          void actions.put('counter', { n: (old?.n ?? 0) + 1 });
        }));
        break;
      case 4: {
        let n = 0;
        for (const { value } of blobs.getRange({ limit: 50 })) n += value.length;
        if (n < 0) throw new Error('unreachable');
        break;
      }
      case 5:
        pending.push(root.transaction(() => {
          for (const { key } of actions.getRange({ limit: 5 })) if (rnd(3) === 0) void actions.remove(key);
          if (rnd(2) === 0) void blobs.remove(k);
        }));
        break;
      case 6:
        pending.push(blobs.ifNoExists(k, () => void blobs.put(k, Buffer.alloc(100, 1))));
        break;
      default:
        await pending[pending.length - 1];
    }
  }
  // Close with writes still queued, as an aborted build does.
  await Promise.all(pending.slice(0, pending.length >> 1));
  await root.close();
}

async function parent(): Promise<void> {
  const rounds = Number(arg('--rounds', '50'));
  const procs = Number(arg('--procs', '4'));
  const ops = Number(arg('--ops', '400'));
  const timeoutMs = Number(arg('--timeout', '60000'));
  const variants = arg('--variants', 'overlapping,safe').split(',');
  for (const v of variants) {
    const options = VARIANTS[v];
    if (!options) throw new Error(`unknown variant ${v}`);
    let failed = 0;
    let hung = 0;
    const examples = new Set<string>();
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      const dir = mkdtempSync(join(tmpdir(), 'retrace-lmdb-stress-'));
      const results = await Promise.all(
        Array.from({ length: procs }, (_, p) => runChild(dir, options, r * 100 + p + 1, ops, timeoutMs)),
      );
      if (results.some((x) => x.hung)) hung++;
      if (results.some((x) => !x.ok)) {
        failed++;
        for (const x of results) if (x.err) examples.add(x.err);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`${v.padEnd(12)} ${JSON.stringify(options)}: ${failed}/${rounds} rounds failed, ${hung} hung; ${(s / rounds).toFixed(2)} s/round (${procs} procs x ${ops} ops)`);
    for (const e of [...examples].slice(0, 5)) console.log(`  e.g. ${e}`);
  }
}

function runChild(dir: string, options: Record<string, unknown>, seed: number, ops: number, timeoutMs: number): Promise<{ ok: boolean; hung: boolean; err?: string }> {
  return new Promise((resolvePromise) => {
    const c = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--child', dir, JSON.stringify(options), String(seed), String(ops)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      c.kill('SIGKILL');
    }, timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(timer);
      const mdb = /MDB_[A-Z_]+|Error: [^\n]*/.exec(stderr)?.[0];
      const ok = code === 0 && !hung && !/MDB_/.test(stderr);
      resolvePromise({ ok, hung, err: ok ? undefined : hung ? 'timeout (hang)' : `exit ${code}: ${mdb ?? stderr.slice(0, 200)}` });
    });
  });
}
