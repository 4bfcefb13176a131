import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

describe('gettid', () => {
  it('is the pid on the main thread', () => {
    expect(sys.gettid()).toBe(process.pid);
  });

  it('is the id the kernel names the calling thread by', () => {
    expect(sys.gettid()).toBe(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()));
  });
});

describe('setPipeSize', () => {
  it('grows a pipe and reports the capacity the kernel chose', () => {
    const [r, w] = sys.pipe();
    try {
      expect(sys.setPipeSize(w, 256 * 1024)).toBeGreaterThanOrEqual(256 * 1024);
      expect(sys.fcntl(w, sys.constants.F_GETPIPE_SZ)).toBeGreaterThanOrEqual(256 * 1024);
    } finally {
      sys.close(r);
      sys.close(w);
    }
  });

  it('throws a SystemError on something that is not a pipe', () => {
    const fd = sys.memfdCreate('not-a-pipe');
    try {
      expect(() => sys.setPipeSize(fd, 65536)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fcntl' }));
    } finally {
      sys.close(fd);
    }
  });
});

describe('isValidShmName and validateShmName', () => {
  it.each(['/a', '/name-with.dots', `/${'x'.repeat(254)}`, `/${'é'.repeat(127)}`])('accepts %s', (name) => {
    expect(sys.isValidShmName(name)).toBe(true);
    expect(() => sys.validateShmName(name)).not.toThrow();
  });

  it.each([
    ['no leading slash', 'name'],
    ['a second slash', '/a/b'],
    ['nothing after the slash', '/'],
    ['a NUL', '/a\0b'],
    ['.', '/.'],
    ['..', '/..'],
    ['256 bytes', `/${'x'.repeat(255)}`],
    ['255 characters but 509 bytes in UTF-8', `/${'é'.repeat(254)}`],
  ])('refuses %s', (_what, name) => {
    expect(sys.isValidShmName(name)).toBe(false);
    expect(() => sys.validateShmName(name)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
