import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

// Failures that are hard to provoke for real (ENOMEM, EINTR) through a fake
// libc: the layer above must turn them into Node-shaped errors.
function withFake(overrides: Partial<sys.Libc>, fn: () => void): void {
  const fake: sys.Libc = { ...sys.ffiLibc, ...overrides };
  const prev = sys.setLibc(fake);
  try {
    fn();
  } finally {
    sys.setLibc(prev);
  }
}

describe('libc failures', () => {
  it('reports a failed mmap with errno, syscall and what was attempted', () => {
    using shared = SharedFd.create({ size: 4096 });
    withFake({ mmap: () => ({ value: -1, errno: 12 }) }, () => {
      expect(() => shared.map()).toThrow(
        expect.objectContaining({ code: 'ENOMEM', errno: 12, syscall: 'mmap', message: expect.stringMatching(/^ENOMEM: not enough memory, mmap \(mapping 4096 bytes of fd \d+\)/) }),
      );
    });
  });

  it('treats EINTR from futex as a spurious wake-up, and EINTR from poll as nothing ready', () => {
    using shared = SharedFd.create({ size: 4096 });
    using m = shared.map();
    withFake({ syscall6: () => ({ value: -1, errno: 4 }), poll: () => ({ value: -1, errno: 4 }) }, () => {
      expect(sys.futexWait(m.int32(0, 1), 0, 0, 1000)).toBe('interrupted');
      expect(sys.poll([{ fd: 0, events: sys.constants.POLLIN }], 1000)).toEqual([0]);
    });
  });

  it('leaves the mapping open when re-mapping on close fails, so close can be retried', () => {
    using shared = SharedFd.create({ size: 4096 });
    const m = shared.map();
    withFake({ mmap: () => ({ value: -1, errno: 12 }) }, () => {
      expect(() => m.close()).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    });
    expect(m.closed).toBe(false);
    m.close();
    expect(m.closed).toBe(true);
  });

  it('reports posix_fallocate errors, which libc returns instead of setting errno', () => {
    using shared = SharedFd.create();
    withFake({ posix_fallocate: () => ({ value: -1, errno: 28 }) }, () => {
      expect(() => sys.fallocate(shared.fd, 0, 1 << 30)).toThrow(expect.objectContaining({ code: 'ENOSPC', syscall: 'posix_fallocate' }));
    });
    sys.fallocate(shared.fd, 0, 8192);
    expect(shared.size).toBe(8192);
  });
});
