// Every error case, with its code and a message that says what to do.
import fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';

import { IPCBuffer, IPCBufferArgumentError, IPCBufferError } from '../src';
import { ShmkitError, SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { cleanup, removeTmp, tmp, uniqueKey, uniqueName, uniquePath } from './kinds';

afterEach(() => {
  jest.restoreAllMocks();
  cleanup();
});
afterAll(removeTmp);

function caught(fn: () => unknown): Error & { code?: string; errno?: number; syscall?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

const call = IPCBuffer as unknown as (...a: unknown[]) => unknown;

describe('ERR_INVALID_ARG_TYPE', () => {
  test.each([
    ['an object as first argument', () => call({})],
    ['undefined as first argument', () => call()],
    ['an object as target', () => call(10, {})],
    ['a boolean as target', () => call(10, true)],
    ['a third argument after a target', () => call(10, '*name', 'x')],
    ['a fourth argument in a length-first form', () => call(10, 'utf8', '*name', 1)],
    ['a number as POSIX name', () => IPCBuffer.posix(5 as unknown as string, 10)],
    ['a string length', () => IPCBuffer.posix(uniqueName(), '10' as unknown as number)],
    ['a string key', () => IPCBuffer.sysv('0x10' as unknown as number, 10)],
    ['a number as path', () => IPCBuffer.file(10 as unknown as string, 10)],
    ['a string mode', () => IPCBuffer.posix(uniqueName(), 10, { mode: '600' as unknown as number })],
    ['a string fd', () => IPCBuffer.fromFd('3' as unknown as number)],
    ['a string offset for an alias', () => call(Buffer.alloc(4), 2, {})],
  ])('%s', (_what, fn) => {
    const e = caught(fn);
    expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(e).toBeInstanceOf(IPCBufferArgumentError);
    expect(e).toBeInstanceOf(IPCBufferError);
    expect(e).toBeInstanceOf(ShmkitError);
    expect(e.message).toMatch(/must be/);
  });
});

describe('ERR_OUT_OF_RANGE', () => {
  const lengths: [string, unknown][] = [['0', 0], ['-1', -1], ['1.5', 1.5], ['NaN', NaN], ['Infinity', Infinity]];
  const makers: [string, (len: unknown) => unknown][] = [
    ['posix', (len) => call(len, `*${uniqueName()}`)],
    ['file', (len) => call(len, uniquePath())],
    ['sysv', (len) => call(len, uniqueKey())],
    ['anonymous', (len) => IPCBuffer.anonymous(len as number)],
  ];
  for (const [kind, make] of makers) {
    test.each(lengths)(`${kind} length %s`, (_l, len) => {
      const e = caught(() => make(len));
      expect(e.code).toBe('ERR_OUT_OF_RANGE');
      expect(e.message).toMatch(/length/);
    });
  }

  test.each([['-1', -1], ['1.5', 1.5]])('in-process length %s', (_l, len) => {
    expect(caught(() => call(len)).code).toBe('ERR_OUT_OF_RANGE');
  });

  test('a POSIX length beyond the size of /dev/shm', () => {
    jest.spyOn(fs, 'statfsSync').mockReturnValue({ bsize: 4096, blocks: 256 } as fs.StatsFs);
    const e = caught(() => IPCBuffer.posix(uniqueName(), 4096 * 256 + 1));
    expect(e.code).toBe('ERR_OUT_OF_RANGE');
    expect(e.message).toMatch(/larger than \/dev\/shm .*file-backed/);
  });

  test('a System V length beyond kernel.shmmax', () => {
    const real = fs.readFileSync;
    jest.spyOn(fs, 'readFileSync').mockImplementation(((p: fs.PathOrFileDescriptor, o?: unknown) =>
      p === '/proc/sys/kernel/shmmax' ? '65536\n' : real(p, o as BufferEncoding)) as typeof fs.readFileSync);
    const e = caught(() => IPCBuffer.sysv(uniqueKey(), 65537));
    expect(e.code).toBe('ERR_OUT_OF_RANGE');
    expect(e.message).toMatch(/kernel\.shmmax \(65536 bytes\); raise it with sysctl/);
  });

  test.each([['0 (IPC_PRIVATE)', 0], ['2^32', 2 ** 32], ['below -2^31', -(2 ** 31) - 1], ['fractional', 1.5]])('System V key %s', (_k, key) => {
    const e = caught(() => IPCBuffer.sysv(key, 10));
    expect(e.code).toBe('ERR_OUT_OF_RANGE');
    expect(e.message).toMatch(/key/);
  });

  test('an alias that does not fit in its parent', () => {
    expect(caught(() => call(Buffer.alloc(8), 6, 4)).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => call(Buffer.alloc(8), 2, 9)).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => call(Buffer.alloc(8), 2, 'utf8', -1)).code).toBe('ERR_OUT_OF_RANGE');
  });

  test('an empty file without a length, a read-only file shorter than asked', () => {
    const p = uniquePath();
    fs.writeFileSync(p, '');
    expect(caught(() => IPCBuffer.file(p)).message).toMatch(/is empty; pass a length/);
    fs.writeFileSync(p, 'abc');
    const e = caught(() => IPCBuffer.file(p, 10, { readOnly: true }));
    expect(e.code).toBe('ERR_OUT_OF_RANGE');
    expect(e.message).toMatch(/read-only/);
  });

  test('mode outside 0o777, a bad fd number, an fd shorter than asked', () => {
    expect(caught(() => IPCBuffer.posix(uniqueName(), 10, { mode: 0o1777 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(caught(() => IPCBuffer.fromFd(-1)).code).toBe('ERR_OUT_OF_RANGE');
    const a = IPCBuffer.anonymous(4096);
    try {
      const fd = fs.openSync(`/proc/self/fd/${a.fd as number}`, 'r+');
      try {
        expect(caught(() => IPCBuffer.fromFd(fd, { length: 8192 })).code).toBe('ERR_OUT_OF_RANGE');
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      a.close();
    }
  });
});

describe('ERR_SHM_SIZE_TOO_LARGE: past what a Buffer can hold, refused before anything is created', () => {
  const max = bufferConstants.MAX_LENGTH;
  test.each([
    ['posix', () => { const n = uniqueName(); return [() => call(max + 1, `*${n}`), () => fs.existsSync(`/dev/shm${n}`)] as const; }],
    ['file', () => { const p = uniquePath(); return [() => call(max + 1, p), () => fs.existsSync(p)] as const; }],
    ['sysv', () => { const k = uniqueKey(); return [() => IPCBuffer.sysv(k, 100 * 2 ** 30), () => fs.readFileSync('/proc/sysvipc/shm', 'utf8').split('\n').some((l) => Number(l.trim().split(/\s+/)[0]) === (k | 0))] as const; }],
    ['anonymous', () => [() => IPCBuffer.anonymous(max + 1), () => false] as const],
    ['in-process', () => [() => call(max + 1), () => false] as const],
  ])('%s', (_kind, setup) => {
    const [make, exists] = setup();
    const e = caught(make);
    expect(e.code).toBe('ERR_SHM_SIZE_TOO_LARGE');
    expect(e).toBeInstanceOf(IPCBufferArgumentError);
    expect(e.message).toContain(`(${max} bytes, buffer.constants.MAX_LENGTH)`);
    expect(exists()).toBe(false);
  });

  test('an fd handed over with more bytes than a Buffer holds, mapped without a length', () => {
    const fd = sys.memfdCreate('too-large');
    try {
      sys.ftruncate(fd, bufferConstants.MAX_LENGTH + 4096);
      const e = caught(() => IPCBuffer.fromFd(fd));
      expect(e.code).toBe('ERR_SHM_SIZE_TOO_LARGE');
      expect(e).toBeInstanceOf(IPCBufferArgumentError);
      expect(e.message).toMatch(new RegExp(`^fd ${fd} of ${bufferConstants.MAX_LENGTH + 4096} bytes`));
    } finally {
      sys.close(fd);
    }
  });
});

describe('ERR_INVALID_ARG_VALUE', () => {
  test.each([['""', ''], ['"/"', '/'], ['"a/b"', 'a/b'], ['NUL', 'a\0b'], ['"/.."', '/..'], ['300 bytes', 'x'.repeat(300)]])('POSIX name %s', (_n, name) => {
    const e = caught(() => IPCBuffer.posix(name, 10));
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toMatch(/use "\/name"/);
  });

  test('unknown encodings, empty paths, exclusive without a length, a non-regular file', () => {
    expect(caught(() => call('x', 'klingon')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(caught(() => call(Buffer.alloc(4), 1, 'klingon', 0)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(caught(() => call(10, '')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(caught(() => IPCBuffer.posix(uniqueName(), undefined, { exclusive: true })).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(caught(() => IPCBuffer.file('/dev/null', 10)).message).toMatch(/not a regular file/);
  });
});

describe('system errors keep errno, code and syscall, and say what to do', () => {
  test('ENOENT', () => {
    const cases: [() => unknown, string, RegExp][] = [
      [() => IPCBuffer.posix(uniqueName()), 'shm_open', /does not exist; create it by passing a length/],
      [() => IPCBuffer.posix(uniqueName(), 10, { create: false }), 'shm_open', /does not exist/],
      [() => IPCBuffer.file(uniquePath()), 'open', /pass a length to create it/],
      [() => IPCBuffer.file(`${tmp}/no/such/dir/f`, 10), 'open', /or its directory does not/],
      [() => IPCBuffer.sysv(uniqueKey()), 'shmget', /no System V segment has key 0x[0-9a-f]{8}; pass a length/],
      [() => IPCBuffer.unlink(uniqueName()), 'shm_unlink', /does not exist, so there is nothing to remove/],
      [() => IPCBuffer.removeSysv(uniqueKey()), 'shmget', /nothing to remove/],
    ];
    for (const [fn, syscall, message] of cases) {
      const e = caught(fn);
      expect(e).toBeInstanceOf(SystemError);
      expect([e.code, e.errno, e.syscall]).toEqual(['ENOENT', 2, syscall]);
      expect(e.message).toMatch(message);
    }
  });

  test('EEXIST with { exclusive: true }', () => {
    const name = uniqueName();
    const a = IPCBuffer.posix(name, 10);
    try {
      const e = caught(() => IPCBuffer.posix(name, 10, { exclusive: true }));
      expect([e.code, e.syscall]).toEqual(['EEXIST', 'shm_open']);
      expect(e.message).toMatch(/IPCBuffer\.unlink\(name\)/);
    } finally {
      a.close();
      IPCBuffer.unlink(name);
    }
    const key = uniqueKey();
    const s = IPCBuffer.sysv(key, 10);
    try {
      expect(caught(() => IPCBuffer.sysv(key, 10, { exclusive: true })).code).toBe('EEXIST');
    } finally {
      s.close();
      IPCBuffer.removeSysv(key);
    }
  });

  test('EINVAL: an existing System V segment smaller than asked', () => {
    const key = uniqueKey();
    const s = IPCBuffer.sysv(key, 4096);
    try {
      const e = caught(() => IPCBuffer.sysv(key, 8192));
      expect([e.code, e.errno, e.syscall]).toEqual(['EINVAL', 22, 'shmget']);
      expect(e.message).toMatch(/exists with 4096 bytes, fewer than the 8192 asked for; segments cannot grow: pass a length ≤ 4096, or remove it/);
    } finally {
      s.close();
      IPCBuffer.removeSysv(key);
    }
  });

  test('EISDIR and EBADF', () => {
    expect(caught(() => IPCBuffer.file(tmp, 10)).message).toMatch(/is a directory/);
    const e = caught(() => IPCBuffer.fromFd(987));
    expect([e.code, e.syscall]).toEqual(['EBADF', 'fstat']);
    expect(e.message).toMatch(/not open in this process/);
  });

  test('a failed creation leaves nothing behind', () => {
    const p = uniquePath();
    jest.spyOn(fs, 'fstatSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: simulated'), { code: 'EIO' });
    });
    expect(() => IPCBuffer.file(p, 10)).toThrow(/simulated/);
    expect(fs.existsSync(p)).toBe(false);
  });
});
