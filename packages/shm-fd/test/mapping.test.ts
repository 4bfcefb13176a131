import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd, ShmkitError, SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

describe('map()', () => {
  let shared: SharedFd;
  beforeEach(() => {
    shared = SharedFd.create({ name: 'mapping-test', size: 3 * 4096 });
  });
  afterEach(() => shared.close());

  it('gives a real Buffer over the shared pages, seen through the fd', () => {
    const m = shared.map();
    expect(Buffer.isBuffer(m.buffer)).toBe(true);
    expect(m.length).toBe(3 * 4096);
    m.buffer.write('hello', 100);
    const viaFd = Buffer.alloc(5);
    fs.readSync(shared.fd, viaFd, 0, 5, 100);
    expect(viaFd.toString()).toBe('hello');
    fs.writeSync(shared.fd, Buffer.from('world'), 0, 5, 200);
    expect(m.buffer.toString('utf8', 200, 205)).toBe('world');
    m.close();
  });

  it('shares memory between two mappings of one file', () => {
    const a = shared.map();
    const b = shared.map({ offset: 4096, length: 4096 });
    a.buffer.writeUInt32LE(0xabcdef01, 4096 + 8);
    expect(b.buffer.readUInt32LE(8)).toBe(0xabcdef01);
    Atomics.add(b.int32(0, 1), 0, 5);
    expect(a.buffer.readInt32LE(4096)).toBe(5);
    a.close();
    b.close();
  });

  it('maps at an unaligned offset', () => {
    const m = shared.map();
    m.buffer.write('xyz', 5000);
    const n = shared.map({ offset: 5000, length: 3 });
    expect(n.buffer.toString()).toBe('xyz');
    expect(n.address % 4096).toBe(5000 % 4096);
    n.close();
    m.close();
  });

  it('refuses to map past the end of the file', () => {
    expect(() => shared.map({ offset: 4096, length: 3 * 4096 })).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_MAP_BEYOND_EOF', message: expect.stringMatching(/only 12288 bytes; resize it first/) }),
    );
    expect(() => shared.map({ offset: 3 * 4096 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => shared.map({ offset: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });

  it('refuses to map an empty file with a hint', () => {
    using empty = SharedFd.create();
    expect(() => empty.map()).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/empty; resize it first/) }));
  });

  it('keeps stale views harmless after close: they read zeros and never fault', () => {
    const m = shared.map();
    const view = m.buffer.subarray(10, 20);
    m.buffer.fill(7);
    m.close();
    m.close(); // idempotent
    expect(m.closed).toBe(true);
    expect(view.every((b) => b === 0)).toBe(true);
    view.fill(1); // writes go to private memory, not the file
    const viaFd = Buffer.alloc(10);
    fs.readSync(shared.fd, viaFd, 0, 10, 10);
    expect(viaFd.every((b) => b === 7)).toBe(true);
    expect(() => m.buffer).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    expect(() => m.sync()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  it('read-only mappings are copy-on-write: stray writes never reach the file', () => {
    const m = shared.map({ writable: false });
    fs.writeSync(shared.fd, Buffer.from('abc'), 0, 3, 0);
    expect(m.buffer.toString('utf8', 0, 3)).toBe('abc');
    m.buffer.write('zzz', 0);
    const viaFd = Buffer.alloc(3);
    fs.readSync(shared.fd, viaFd, 0, 3, 0);
    expect(viaFd.toString()).toBe('abc');
    m.close();
  });

  it('closes its mappings when the SharedFd closes', () => {
    const m = shared.map();
    shared.close();
    expect(m.closed).toBe(true);
    expect(() => shared.fd).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  it('syncs a file-backed mapping to disk', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-fd-'));
    const file = path.join(dir, 'data');
    using f = SharedFd.openFile(file, { create: true, size: 8192 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    using m = f.map();
    m.buffer.write('persisted', 4000);
    m.sync();
    m.sync({ offset: 4000, length: 9, async: true });
    expect(fs.readFileSync(file).toString('utf8', 4000, 4009)).toBe('persisted');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('SharedFd', () => {
  it('grows, refuses to shrink under a live mapping, shrinks after close', () => {
    using s = SharedFd.create({ size: 8192 });
    const m = s.map();
    s.resize(16384);
    expect(s.size).toBe(16384);
    expect(() => s.resize(4096)).toThrow(expect.objectContaining({ code: 'ERR_SHM_MAPPED' }));
    m.close();
    s.resize(4096);
    expect(s.size).toBe(4096);
  });

  it('seals', () => {
    using s = SharedFd.create({ size: 4096 });
    expect(s.seals).toEqual([]);
    s.seal('shrink', 'grow');
    expect(s.seals).toEqual(['shrink', 'grow']);
    expect(() => s.resize(0)).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'ftruncate' }));
    expect(() => s.seal('bogus' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('a memfd without sealing cannot be sealed', () => {
    using s = SharedFd.create({ sealable: false });
    expect(() => s.seal('shrink')).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });

  it('opens POSIX shared memory 0600 and unlinks it', () => {
    const name = `/shmkit-test-${process.pid}`;
    using _s = SharedFd.openShm(name, { create: true, exclusive: true, size: 4096 });
    expect(fs.statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);
    expect(() => SharedFd.openShm(name, { create: true, exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'shm_open' }));
    sys.shmUnlink(name);
    expect(() => SharedFd.openShm(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => SharedFd.openShm('no-slash')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  describe('fromEnv', () => {
    // Passed fds start at 3; park a memfd at a high number and describe it with placeholders before it.
    const slot = 200;
    const env = (extra: Record<string, string> = {}) => ({
      LISTEN_FDS: String(slot - 2),
      LISTEN_FDNAMES: [...Array.from({ length: slot - 3 }, () => 'other'), 'SHM_SHARED_FD'].join(':'),
      ...extra,
    });

    it('takes the named fd and marks it close-on-exec', () => {
      const s = SharedFd.create({ size: 4096 });
      sys.dup2(s.fd, slot);
      s.close();
      const got = SharedFd.fromEnv({ env: env({ LISTEN_PID: String(process.pid) }) });
      expect(got?.fd).toBe(slot);
      expect(got?.size).toBe(4096);
      expect(sys.isCloexec(slot)).toBe(true);
      got?.close();
    });

    it('is null when the name is absent or the pid differs', () => {
      expect(SharedFd.fromEnv({ env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'other' } })).toBeNull();
      expect(SharedFd.fromEnv({ env: env({ LISTEN_PID: '1' }) })).toBeNull();
      expect(SharedFd.fromEnv({ env: {} })).toBeNull();
    });

    it('reports an fd that is not open', () => {
      expect(() => SharedFd.fromEnv({ env: env() })).toThrow(expect.objectContaining({ code: 'ERR_SHM_BAD_FD', message: expect.stringMatching(/not open/) }));
    });

    it('rejects a disk file like the Rust consumer (F_GET_SEALS)', () => {
      // The package directory is on disk (not tmpfs) on our machines.
      const dir = fs.mkdtempSync(path.join(__dirname, '..', '.tmp-'));
      const fd = fs.openSync(path.join(dir, 'f'), 'w+');
      sys.dup2(fd, slot);
      fs.closeSync(fd);
      try {
        const tmpIsTmpfs = (() => {
          try {
            sys.getSeals(slot);
            return true;
          } catch {
            return false;
          }
        })();
        if (tmpIsTmpfs) throw new Error(`${dir} is on tmpfs; this test needs a disk directory`);
        expect(() => SharedFd.fromEnv({ env: env() })).toThrow(expect.objectContaining({ code: 'ERR_SHM_BAD_FD', message: expect.stringMatching(/tmpfs/) }));
        const lax = SharedFd.fromEnv({ env: env(), validate: false });
        expect(lax?.fd).toBe(slot);
        lax?.release();
      } finally {
        sys.close(slot);
        fs.rmSync(dir, { recursive: true });
      }
    });
  });
});

describe('errors', () => {
  it('are shaped like Node errno exceptions', () => {
    let caught: unknown;
    try {
      sys.close(9999);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SystemError);
    expect(caught).toBeInstanceOf(ShmkitError);
    expect(caught).toBeInstanceOf(Error);
    expect(caught).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close', name: 'SystemError' });
    expect((caught as Error).message).toMatch(/^EBADF: bad file descriptor, close \(closing fd 9999\)/);
  });

  it('answer instanceof by brand, so two installed copies agree', () => {
    const foreign = new (class SystemError extends Error {})('from another copy');
    expect(foreign).not.toBeInstanceOf(SystemError);
    Object.defineProperty(foreign, Symbol.for('@shmkit/error:SystemError'), { value: true });
    expect(foreign).toBeInstanceOf(SystemError);
  });
});
