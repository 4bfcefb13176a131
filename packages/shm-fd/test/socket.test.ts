import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { notifyFdStore, notifyReady, SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

describe('fd passing over Unix sockets', () => {
  it('sends a memfd with SCM_RIGHTS; both ends map the same memory', () => {
    const [a, b] = sys.socketPair('dgram');
    try {
      using shared = SharedFd.create({ size: 4096 });
      using m = shared.map();
      m.buffer.write('through the socket');
      expect(sys.sendWithFds(a, Buffer.from('take this'), [shared.fd])).toBe(9);
      const got = sys.recvWithFds(b);
      expect(got?.data.toString()).toBe('take this');
      expect(got?.fds).toHaveLength(1);
      expect(got?.truncated).toBe(false);
      using received = new SharedFd(got?.fds[0] as number);
      expect(received.fd).not.toBe(shared.fd);
      expect(sys.isCloexec(received.fd)).toBe(true);
      using m2 = received.map();
      expect(m2.buffer.toString('utf8', 0, 18)).toBe('through the socket');
      m2.buffer.write('and back');
      expect(m.buffer.toString('utf8', 0, 8)).toBe('and back');
    } finally {
      sys.close(a);
      sys.close(b);
    }
  });

  it('returns null for a non-blocking receive with nothing queued', () => {
    const [a, b] = sys.socketPair('dgram');
    expect(sys.recvWithFds(b, { nonblocking: true })).toBeNull();
    expect(sys.poll([{ fd: b, events: sys.constants.POLLIN }], 0)).toEqual([0]);
    sys.sendWithFds(a, Buffer.from('x'), []);
    expect(sys.poll([{ fd: b, events: sys.constants.POLLIN }], 100)[0]! & sys.constants.POLLIN).toBeTruthy();
    expect(sys.recvWithFds(b, { nonblocking: true })?.fds).toEqual([]);
    sys.close(a);
    sys.close(b);
  });

  it('flags a truncated datagram', () => {
    const [a, b] = sys.socketPair('dgram');
    sys.sendWithFds(a, Buffer.alloc(100, 1), []);
    const got = sys.recvWithFds(b, { maxBytes: 10 });
    expect(got?.data.length).toBe(10);
    expect(got?.truncated).toBe(true);
    sys.close(a);
    sys.close(b);
  });
});

describe('sd_notify', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-notify-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a path', path.join(dir, 'notify.sock')],
    ['an abstract name', `@shmkit-test-${process.pid}`],
  ])('hands an fd to the fd store at %s', (_what, address) => {
    const manager = sys.unixSocket('dgram');
    try {
      sys.bindUnix(manager, address);
      using shared = SharedFd.create({ size: 4096 });
      expect(notifyFdStore(shared.fd, 'SHM_SHARED_FD', address)).toBe(true);
      const msg = sys.recvWithFds(manager, { nonblocking: true });
      expect(msg?.data.toString()).toBe('FDSTORE=1\nFDNAME=SHM_SHARED_FD');
      expect(msg?.fds).toHaveLength(1);
      sys.close(msg?.fds[0] as number);
      expect(notifyReady('up', address)).toBe(true);
      expect(sys.recvWithFds(manager, { nonblocking: true })?.data.toString()).toBe('READY=1\nSTATUS=up');
    } finally {
      sys.close(manager);
    }
  });

  it('does nothing without NOTIFY_SOCKET and rejects relative paths', () => {
    expect(notifyReady(undefined, '')).toBe(false);
    expect(() => notifyReady(undefined, 'relative.sock')).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOTIFY_SOCKET' }));
  });

  it('reports a missing manager socket as ENOENT / ECONNREFUSED', () => {
    expect(() => notifyReady(undefined, path.join(dir, 'nobody'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'sendmsg' }));
  });
});

describe('futex', () => {
  it('times out, sees changed values, and wakes nobody when nobody sleeps', () => {
    using shared = SharedFd.create({ size: 4096 });
    using m = shared.map();
    const word = m.int32(0, 1);
    expect(sys.futexWait(word, 0, 1, 10)).toBe('not-equal');
    expect(sys.futexWait(word, 0, 0, 20)).toBe('timed-out');
    expect(sys.futexWake(word, 0)).toBe(0);
    expect(() => sys.futexWait(new Int32Array(1), 0, 0, 1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
