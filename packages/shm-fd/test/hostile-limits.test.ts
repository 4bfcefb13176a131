import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { LogLimiter } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

describe('sealSize', () => {
  it('leaves a memfd that nobody, not even its creator, can shrink or grow', () => {
    const fd = sys.memfdCreate('sealed');
    try {
      sys.ftruncate(fd, 8192);
      sys.sealSize(fd);
      const seals = sys.getSeals(fd);
      const C = sys.constants;
      expect(seals & (C.F_SEAL_SHRINK | C.F_SEAL_GROW | C.F_SEAL_SEAL)).toBe(C.F_SEAL_SHRINK | C.F_SEAL_GROW | C.F_SEAL_SEAL);
      expect(() => sys.ftruncate(fd, 4096)).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(() => sys.ftruncate(fd, 16384)).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(() => sys.addSeals(fd, C.F_SEAL_WRITE)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    } finally {
      sys.close(fd);
    }
  });
});

describe('checkMappableSize', () => {
  it('refuses a size past buffer.constants.MAX_LENGTH with a coded error naming the limit', () => {
    const { MAX_LENGTH } = require('node:buffer').constants as { MAX_LENGTH: number };
    expect(() => sys.checkMappableSize(MAX_LENGTH + 1, 'the buffer')).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_SIZE_TOO_LARGE', message: expect.stringContaining(String(MAX_LENGTH)) }),
    );
    expect(() => sys.checkMappableSize(-1, 'the buffer')).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    sys.checkMappableSize(MAX_LENGTH, 'the buffer');
  });
});

describe('peerCredentials and socketFd', () => {
  it('names the pid and uid of the process at the other end of a real Unix socket', async () => {
    const sock = path.join(os.tmpdir(), `peercred-${process.pid}.sock`);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      // The peer is a separate process: its pid, not ours, must come back.
      const child = spawn(process.execPath, ['-e', `require('net').connect(${JSON.stringify(sock)}).on('connect', () => setTimeout(() => process.exit(0), 2000))`], { stdio: 'ignore' });
      const conn = await accepted;
      const cred = sys.peerCredentials(sys.socketFd(conn));
      expect(cred).toEqual({ pid: child.pid, uid: process.getuid?.(), gid: process.getgid?.() });
      expect(sys.socketFd(server)).toBeGreaterThan(2);
      conn.destroy();
      child.kill();
      await new Promise((resolve) => child.once('exit', resolve));
      expect(() => sys.socketFd(conn)).toThrow(expect.objectContaining({ code: 'ERR_SHM_NO_FD' }));
    } finally {
      server.close();
    }
  });
});

describe('LogLimiter', () => {
  it('lets one line per key per interval through and counts the rest', () => {
    const l = new LogLimiter({ intervalMs: 1000 });
    expect(l.allow('a', 0)).toEqual({ log: true, dropped: 0 });
    expect(l.allow('a', 10)).toEqual({ log: false, dropped: 1 });
    expect(l.allow('a', 20)).toEqual({ log: false, dropped: 2 });
    expect(l.allow('b', 20)).toEqual({ log: true, dropped: 0 });
    expect(l.allow('a', 1000)).toEqual({ log: true, dropped: 2 });
    expect(l.allow('a', 1500)).toEqual({ log: false, dropped: 1 });
  });

  it('holds at most maxKeys keys: new keys share "*" until old ones expire', () => {
    const l = new LogLimiter({ intervalMs: 1000, maxKeys: 2 });
    expect(l.allow('a', 0).log).toBe(true);
    expect(l.allow('b', 0).log).toBe(true);
    // The table is full: c opens the shared "*" key, d falls under it.
    expect(l.allow('c', 0)).toEqual({ log: true, dropped: 0 });
    expect(l.allow('d', 0)).toEqual({ log: false, dropped: 1 });
    // a and b are quiet for a whole interval: they are swept and e gets a line of its own.
    expect(l.allow('e', 2000)).toEqual({ log: true, dropped: 0 });
    for (let i = 0; i < 10_000; i++) l.allow(`k${i}`, 2000);
    expect(l.allow('zzz', 2000).log).toBe(false);
  });
});
