/**
 * A real nginx WebDAV server for the remote-cache tests, started with the production script
 * (scripts/nginx-webdav.sh) on a free loopback port with its own root and prefix, and stopped
 * by its pid. Without nginx this FAILS (it does not skip): the remote tier must be tested.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './project.ts';

export interface Webdav {
  url: string;
  /** The folder nginx serves: tests corrupt and inspect files here. */
  root: string;
  /** Requests seen so far, as `METHOD /uri STATUS` lines. */
  log(): string[];
  stop(): Promise<void>;
}

function nginxInstalled(): boolean {
  if (existsSync('/usr/sbin/nginx')) return true;
  return spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).status === 0;
}

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

async function waitUp(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr()}`);
    try {
      await fetch(url + '/', { method: 'HEAD' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nginx did not start within 10 s: ${stderr()}`);
}

export async function startWebdav(opts: { token?: string } = {}): Promise<Webdav> {
  if (!nginxInstalled()) {
    throw new Error('nginx is not installed: the remote cache tests need a real nginx with WebDAV. Install it (Debian/Ubuntu: `apt-get install -y nginx`, macOS: `brew install nginx`) and run the tests again.');
  }
  const root = mkdtempSync(join(tmpdir(), 'retrace-webdav-'));
  // nginx's config, pid and logs live outside the served root (the script refuses otherwise).
  const prefix = mkdtempSync(join(tmpdir(), 'retrace-webdav-nginx-'));
  const port = await freePort();
  // Without a token the script refuses writes unless told they are meant to be anonymous.
  const anonymous = opts.token ? [] : ['--insecure-anonymous'];
  const child = spawn('bash', [join(ROOT, 'scripts/nginx-webdav.sh'), '--root', root, '--prefix', prefix, '--listen', `127.0.0.1:${port}`, '--workers', '1', ...anonymous], {
    env: { ...process.env, RETRACE_CACHE_TOKEN: opts.token ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child, () => stderr);
  return {
    url,
    root,
    log: () => {
      const f = join(prefix, 'access.log');
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
