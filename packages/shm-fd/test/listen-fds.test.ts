import { isValidFdName, listenEnv, listenFds, parseListenFds } from '@shmkit/shm-fd';

describe('parseListenFds', () => {
  it('is absent without LISTEN_FDS', () => {
    expect(parseListenFds({}, 100)).toEqual({ status: 'absent' });
    expect(listenFds({ env: { LISTEN_FDNAMES: 'SHM_SHARED_FD' }, pid: 100 })).toBeNull();
  });

  it('finds named fds starting at 3', () => {
    const st = parseListenFds({ LISTEN_FDS: '3', LISTEN_FDNAMES: 'a:SHM_SHARED_FD:b', LISTEN_PID: '77' }, 77);
    expect(st).toEqual({
      status: 'ok',
      pidChecked: true,
      fds: [
        { fd: 3, name: 'a' },
        { fd: 4, name: 'SHM_SHARED_FD' },
        { fd: 5, name: 'b' },
      ],
    });
  });

  it('names fds "unknown" without LISTEN_FDNAMES, like systemd', () => {
    expect(listenFds({ env: { LISTEN_FDS: '2' }, pid: 1 })).toEqual([
      { fd: 3, name: 'unknown' },
      { fd: 4, name: 'unknown' },
    ]);
  });

  it('accepts zero fds', () => {
    expect(listenFds({ env: { LISTEN_FDS: '0', LISTEN_FDNAMES: '' }, pid: 1 })).toEqual([]);
  });

  it('ignores fds meant for another pid', () => {
    expect(parseListenFds({ LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD', LISTEN_PID: '12' }, 13)).toEqual({ status: 'other-pid', pid: 12 });
    expect(listenFds({ env: { LISTEN_FDS: '1', LISTEN_PID: '12' }, pid: 13 })).toBeNull();
  });

  it.each([
    [{ LISTEN_FDS: 'x' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '-1' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '1.5' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '99999999' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '01' }, 'ERR_SHM_LISTEN_FDS'],
    [{ LISTEN_FDS: '1', LISTEN_PID: 'abc' }, 'ERR_SHM_LISTEN_PID'],
    [{ LISTEN_FDS: '1', LISTEN_PID: '0' }, 'ERR_SHM_LISTEN_PID'],
    [{ LISTEN_FDS: '2', LISTEN_FDNAMES: 'only-one' }, 'ERR_SHM_LISTEN_FDNAMES'],
    [{ LISTEN_FDS: '1', LISTEN_FDNAMES: 'a:b' }, 'ERR_SHM_LISTEN_FDNAMES'],
    [{ LISTEN_FDS: '1', LISTEN_FDNAMES: 'has space' }, 'ERR_SHM_LISTEN_FDNAMES'],
    [{ LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:' }, 'ERR_SHM_LISTEN_FDNAMES'],
  ])('rejects malformed %j with %s', (env, code) => {
    expect(() => parseListenFds(env, 1)).toThrow(expect.objectContaining({ code }));
  });

  it('removes the variables when asked, even on error', () => {
    const env: Record<string, string | undefined> = { LISTEN_FDS: '1', LISTEN_FDNAMES: 'x', LISTEN_PID: '5', KEEP: '1' };
    expect(listenFds({ env, pid: 5, unsetEnv: true })).toEqual([{ fd: 3, name: 'x' }]);
    expect(env).toEqual({ KEEP: '1' });
    const bad: Record<string, string | undefined> = { LISTEN_FDS: 'nope' };
    expect(() => listenFds({ env: bad, pid: 5, unsetEnv: true })).toThrow();
    expect(bad).toEqual({});
  });

  it('describes fds for a child', () => {
    expect(listenEnv(['other', 'SHM_SHARED_FD'], 42)).toEqual({ LISTEN_FDS: '2', LISTEN_FDNAMES: 'other:SHM_SHARED_FD', LISTEN_PID: '42' });
  });
});

describe('isValidFdName', () => {
  it.each(['SHM_SHARED_FD', 'a', '!~', 'x'.repeat(255)])('accepts %j', (name) => expect(isValidFdName(name)).toBe(true));
  it.each(['', 'a:b', 'a b', 'tab\t', 'é', 'x'.repeat(256)])('refuses %j', (name) => expect(isValidFdName(name)).toBe(false));
});
