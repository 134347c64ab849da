/**
 * scripts/nginx-webdav.sh refuses what would turn a shared cache against its readers (issue 19):
 * writes without a token (unless --insecure-anonymous), a prefix inside the served root; keeps its
 * config and pid outside the root; never serves dotted paths; started as root, its workers run as
 * an unprivileged user. Needs nginx (scripts/test-services.sh installs it); ports of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers/project.ts';

const SCRIPT = join(ROOT, 'scripts/nginx-webdav.sh');
const made: string[] = [];
const tmp = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

function runScript(args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, RETRACE_CACHE_TOKEN: '', ...env }, timeout: 20_000 });
}

async function start(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn('bash', [SCRIPT, ...args, '--listen', `127.0.0.1:${port}`, '--workers', '1'], { env: { ...process.env, RETRACE_CACHE_TOKEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the script exited ${child.exitCode}: ${stderr}`);
    try {
      await fetch(url + '/', { method: 'HEAD' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

const put = (url: string, body: string, token?: string) => fetch(url, { method: 'PUT', body, headers: token ? { authorization: `Bearer ${token}` } : {} }).then((r) => r.status);

test('no token: refuses to start for writes, naming the ways out', () => {
  const r = runScript(['--root', tmp('retrace-dav-root-'), '--listen', '127.0.0.1:1']);
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /refusing to accept writes without a token/);
  assert.match(r.stderr, /RETRACE_CACHE_TOKEN/);
  assert.match(r.stderr, /--insecure-anonymous/);
});

test('a --prefix inside the served root is refused (its config holds the token)', () => {
  const root = tmp('retrace-dav-root-');
  const r = runScript(['--root', root, '--prefix', join(root, '.nginx'), '--listen', '127.0.0.1:1'], { RETRACE_CACHE_TOKEN: 'tok' });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /inside the served root/);
});

test('with a token: config and pid outside the root, dotted paths refused, workers unprivileged', async () => {
  const root = tmp('retrace-dav-root-');
  const prefix = `${root}-prefix`;
  made.push(prefix);
  const s = await start(['--root', root, '--prefix', prefix], { RETRACE_CACHE_TOKEN: 'tok' });
  try {
    assert.ok(existsSync(join(prefix, 'nginx.conf')) && existsSync(join(prefix, 'nginx.pid')));
    assert.not.ok(existsSync(join(root, '.nginx')));
    assert.is(await put(`${s.url}/cas/ab/x`, 'x'), 401);
    assert.is(await put(`${s.url}/cas/ab/x`, 'x', 'tok'), 201);
    assert.is(await put(`${s.url}/.upload/x`, 'x', 'tok'), 403);
    assert.is((await fetch(`${s.url}/.upload/`, { headers: { authorization: 'Bearer tok' } })).status, 403);
    if (process.getuid?.() === 0) {
      const master = readFileSync(join(prefix, 'nginx.pid'), 'utf8').trim();
      const ps = spawnSync('ps', ['-o', 'user=', '--ppid', master], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      assert.ok(ps.length >= 1, 'no worker found');
      for (const u of ps) assert.is.not(u.trim(), 'root', 'a worker runs as root');
    }
  } finally {
    await s.stop();
  }
});

test('--insecure-anonymous starts with a warning; --read-only needs no token and refuses writes', async () => {
  const anon = await start(['--root', tmp('retrace-dav-root-'), '--prefix', tmp('retrace-dav-prefix-'), '--insecure-anonymous']);
  try {
    assert.match(anon.stderr(), /WARNING: --insecure-anonymous/);
    assert.is(await put(`${anon.url}/cas/ab/y`, 'y'), 201);
  } finally {
    await anon.stop();
  }
  const ro = await start(['--root', tmp('retrace-dav-root-'), '--prefix', tmp('retrace-dav-prefix-'), '--read-only']);
  try {
    assert.is(await put(`${ro.url}/cas/ab/y`, 'y'), 403);
    assert.is((await fetch(`${ro.url}/cas/ab/y`, { method: 'DELETE' })).status, 403);
    assert.is((await fetch(`${ro.url}/cas/ab/y`)).status, 404);
  } finally {
    await ro.stop();
  }
});

test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
test.run();
