import * as sys from '@shmkit/shm-fd/sys';

// Socket options through the libc layer, on a real socket pair.
describe('socket options', () => {
  it('sets and reads back int options; the kernel doubles SO_SNDBUF for its bookkeeping', () => {
    const [a, b] = sys.socketPair('stream');
    try {
      sys.setSockOpt(a, sys.SOL_SOCKET, sys.SO_SNDBUF, 64 * 1024);
      expect(sys.getSockOpt(a, sys.SOL_SOCKET, sys.SO_SNDBUF)).toBe(128 * 1024);
      sys.setSockOpt(a, sys.SOL_SOCKET, sys.SO_RCVLOWAT, 4096);
      expect(sys.getSockOpt(a, sys.SOL_SOCKET, sys.SO_RCVLOWAT)).toBe(4096);
    } finally {
      sys.close(a);
      sys.close(b);
    }
  });

  it('SO_SNDTIMEO makes a blocking write to a peer that reads nothing give up with EAGAIN', () => {
    const [a, b] = sys.socketPair('stream');
    const chunk = sys.mapAnonymous(64 * 1024);
    try {
      sys.setSendTimeout(a, 50);
      const t0 = Date.now();
      let r = { value: 0, errno: 0 };
      // Bounded: the buffer fills after a few hundred KiB at most, then one write waits 50 ms.
      for (let i = 0; i < 1000 && r.value !== -1; i++) r = sys.libc().write(a, chunk.address, chunk.length);
      expect(r).toEqual({ value: -1, errno: 11 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    } finally {
      chunk.close();
      sys.close(a);
      sys.close(b);
    }
  });

  it('names the option and the socket when the call fails', () => {
    expect(() => sys.setSockOpt(-1, sys.SOL_SOCKET, sys.SO_SNDBUF, 1)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'setsockopt', message: expect.stringContaining('socket fd -1') }));
    expect(() => sys.setSendTimeout(-1, 10)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'setsockopt' }));
  });
});
