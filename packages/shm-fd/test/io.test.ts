import * as sys from '@shmkit/shm-fd/sys';

// readAt/writeAt: read(2)/write(2) between an fd and memory at an address,
// for non-blocking fds. Exercised on a real non-blocking pipe.
describe('readAt / writeAt on a non-blocking pipe', () => {
  let fds: [number, number];
  beforeEach(() => {
    fds = sys.pipe(true);
  });
  afterEach(() => {
    for (const fd of fds) {
      try {
        sys.close(fd);
      } catch {
        // closed by the test
      }
    }
  });

  it('moves bytes from one address to another', () => {
    const [r, w] = fds;
    const s = sys.getScratch();
    s.buf.write('hello, pipe', 0);
    expect(sys.writeAt(w, s.addr, 11)).toBe(11);
    s.buf.fill(0, 0, 64);
    expect(sys.readAt(r, s.addr + 32, 64)).toBe(11);
    expect(s.buf.toString('utf8', 32, 43)).toBe('hello, pipe');
  });

  it('answers null when there is nothing to read, 0 at end of file', () => {
    const [r, w] = fds;
    const s = sys.getScratch();
    expect(sys.readAt(r, s.addr, 16)).toBeNull();
    sys.close(w);
    expect(sys.readAt(r, s.addr, 16)).toBe(0);
  });

  it('answers null when the pipe is full, and writes again once it is drained', () => {
    const [r, w] = fds;
    const capacity = sys.setPipeSize(w, 4096);
    const s = sys.getScratch();
    s.buf.fill(0x61, 0, 4096);
    let written = 0;
    for (;;) {
      const n = sys.writeAt(w, s.addr, 4096);
      if (n === null) break;
      written += n;
    }
    expect(written).toBe(capacity);
    let read = 0;
    for (;;) {
      const n = sys.readAt(r, s.addr, 4096);
      if (n === null) break;
      read += n;
    }
    expect(read).toBe(capacity);
    expect(sys.writeAt(w, s.addr, 10)).toBe(10);
  });

  it('throws a SystemError naming the call on a bad fd', () => {
    const [r] = fds;
    sys.close(r);
    const s = sys.getScratch();
    expect(() => sys.readAt(r, s.addr, 1)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'read' }));
    expect(() => sys.writeAt(r, s.addr, 1)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'write' }));
  });
});
