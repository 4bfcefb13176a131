// Another C library through the ffi layer: calls with integers and
// addresses of mapped memory, and the errors for what does not load.
import * as sys from '@shmkit/shm-fd/sys';

describe('openForeignLibrary()', () => {
  it('calls a function with integers and with addresses of mapped memory', () => {
    const libc = sys.openForeignLibrary('libc.so.6');
    expect(sys.openForeignLibrary('libc.so.6')).toBe(libc);
    expect(libc.func('getpid', 'i32', [])()).toBe(process.pid);
    using m = sys.mapAnonymous(4096);
    m.buffer.write('shared bytes', 0, 'latin1');
    // memcpy(dst, src, n) inside the mapping, then strlen over the copy.
    libc.func('memcpy', 'i64', ['i64', 'i64', 'i64'])(sys.addressOf(m.buffer, 100), sys.addressOf(m.buffer, 0), 13);
    expect(m.buffer.toString('latin1', 100, 112)).toBe('shared bytes');
    expect(libc.func('strlen', 'i64', ['i64'])(sys.addressOf(m.buffer, 100))).toBe(12);
  });

  it('names the path and the reason when a library does not load, and a missing symbol at the first call', () => {
    expect(() => sys.openForeignLibrary('/nonexistent/libnothing.so.1')).toThrow(
      expect.objectContaining({ code: 'ERR_DLOPEN', message: expect.stringMatching(/^\/nonexistent\/libnothing\.so\.1: cannot open shared object file/) }),
    );
    const f = sys.openForeignLibrary('libc.so.6').func('no_such_function_here', 'i32', []);
    expect(() => f()).toThrow(/no_such_function_here/);
  });
});
