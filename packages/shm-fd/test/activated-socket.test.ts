import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

const CHILD = path.join(__dirname, 'fixtures', 'activated-child.ts');

interface ChildResult {
  none?: boolean;
  name?: string;
  family?: string;
  path?: string | null;
  env?: string | null;
  code?: string;
  message?: string;
}

/** Runs the child with `fd` as its fd 3 and the LISTEN_* variables given; resolves with its first line. */
function runChild(fd: number | number[], env: Record<string, string>, families: string, onLine?: (r: ChildResult) => Promise<void>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, families], {
      stdio: ['pipe', 'pipe', 'inherit', ...(Array.isArray(fd) ? fd : [fd])],
      env: { ...process.env, ...env},
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const r = JSON.parse(out.slice(0, nl)) as ChildResult;
      void (onLine?.(r) ?? Promise.resolve()).then(() => {
        child.stdin!.end();
        resolve(r);
      }, reject);
    });
    child.on('error', reject);
  });
}

function listening(server: net.Server, arg: string | number): Promise<void> {
  return new Promise((resolve) => server.listen(arg, () => resolve()));
}

describe('listenActivated', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'activated-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves on a passed listening Unix socket and removes LISTEN_* from its environment', async () => {
    const sock = path.join(dir, 'a.sock');
    const server = net.createServer();
    await listening(server, sock);
    try {
      const r = await runChild(sys.socketFd(server), { LISTEN_FDS: '1', LISTEN_FDNAMES: 'other' }, 'unix', async () => {
        // The child now accepts on the same socket; stop ours from competing
        // (closing a Node server unlinks its path: keep a second name).
        fs.linkSync(sock, `${sock}.kept`);
        await new Promise((resolve) => server.close(resolve));
        const text = await new Promise<string>((resolve, reject) => {
          const c = net.connect(`${sock}.kept`);
          let got = '';
          c.on('data', (d) => (got += d.toString()));
          c.on('end', () => resolve(got));
          c.on('error', reject);
        });
        expect(text).toBe('hello from the activated socket');
      });
      expect(r).toEqual({ name: 'other', family: 'unix', path: sock, env: null });
    } finally {
      server.close();
    }
  });

  it('is null without LISTEN_FDS, and for LISTEN_FDS=0', async () => {
    const fd = sys.open('/dev/null', sys.constants.O_RDONLY);
    try {
      expect(await runChild(fd, {}, 'unix')).toEqual({ none: true, env: null });
      expect(await runChild(fd, { LISTEN_FDS: '0', LISTEN_FDNAMES: '' }, 'unix')).toEqual({ none: true, env: null });
    } finally {
      sys.close(fd);
    }
  });

  it('refuses a passed fd that is not a socket', async () => {
    const fd = sys.open('/dev/null', sys.constants.O_RDONLY);
    try {
      const r = await runChild(fd, { LISTEN_FDS: '1' }, 'unix');
      expect(r.code).toBe('ERR_SHM_LISTEN_SOCKET');
      expect(r.message).toMatch(/fd 3 .* is not a socket; expected a listening unix stream socket/);
    } finally {
      sys.close(fd);
    }
  });

  it('refuses a socket of the wrong family, a datagram socket and one that is not listening', async () => {
    const tcp = net.createServer();
    await listening(tcp, 0);
    const dgram = sys.unixSocket('dgram');
    const [a, b] = sys.socketPair('stream');
    try {
      const wrongFamily = await runChild(sys.socketFd(tcp), { LISTEN_FDS: '1', LISTEN_FDNAMES: 'wanted' }, 'unix');
      expect(wrongFamily.code).toBe('ERR_SHM_LISTEN_SOCKET');
      expect(wrongFamily.message).toMatch(/address family inet6?;/);
      const dg = await runChild(dgram, { LISTEN_FDS: '1' }, 'unix');
      expect(dg.message).toMatch(/is a datagram socket/);
      const pair = await runChild(a, { LISTEN_FDS: '1' }, 'unix');
      expect(pair.message).toMatch(/not listening/);
    } finally {
      tcp.close();
      sys.close(dgram);
      sys.close(a);
      sys.close(b);
    }
  });

  it('takes the fd named in LISTEN_FDNAMES rather than the first', async () => {
    const nul = sys.open('/dev/null', sys.constants.O_RDONLY);
    const server = net.createServer();
    await listening(server, path.join(dir, 'named.sock'));
    try {
      // fd 3 is not a socket at all: only choosing fd 4 by its name succeeds.
      const r = await runChild([nul, sys.socketFd(server)], { LISTEN_FDS: '2', LISTEN_FDNAMES: 'other:wanted' }, 'unix');
      expect(r).toEqual({ name: 'wanted', family: 'unix', path: path.join(dir, 'named.sock'), env: null });
    } finally {
      sys.close(nul);
      server.close();
    }
  });

  it('accepts a TCP socket where inet is allowed', async () => {
    const tcp = net.createServer();
    await listening(tcp, 0);
    try {
      const r = await runChild(sys.socketFd(tcp), { LISTEN_FDS: '1', LISTEN_FDNAMES: 'wanted' }, 'inet,inet6');
      expect(r.name).toBe('wanted');
      expect(['inet', 'inet6']).toContain(r.family);
      expect(r.path).toBeNull();
    } finally {
      tcp.close();
    }
  });
});
