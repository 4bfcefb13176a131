import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { bin, killAll, run, start, until } from './helpers/proc';

const shmFd = bin('shm-fd', 'shm-fd');
const python = '/usr/bin/python3';
const hasSystemdPython = (() => {
  try {
    require('node:child_process').execFileSync(python, ['-c', 'import systemd.daemon'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

afterEach(killAll);

describe('non-Node consumers', () => {
  it('python3 reads and writes the shared fd; a Node run afterwards sees it', async () => {
    const file = `/dev/shm/shmkit-py-${process.pid}`;
    try {
      const py = `import os
fd = int(os.environ["LISTEN_FDS"]) + 2
assert os.environ["LISTEN_FDNAMES"].split(":")[-1] == "SHM_SHARED_FD"
assert int(os.environ["LISTEN_PID"]) == os.getpid()
os.pwrite(fd, b"written by python", 0)
print("size", os.fstat(fd).st_size)`;
      const r = await run([shmFd, '-q', '--size', '4k', '--file', file, '--', python, '-c', py], { cmd: process.execPath });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('size 4096');
      const js = `const { SharedFd } = require('@shmkit/shm-fd'); const s = SharedFd.fromEnv(); const m = s.map(); console.log(m.buffer.toString('utf8', 0, 17));`;
      const n = await run([shmFd, '-q', '--file', file, '--', process.execPath, '-e', js], { cwd: __dirname });
      expect(n.stdout.trim()).toBe('written by python');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  (hasSystemdPython ? it : it.skip)("libsystemd's listen_fds_with_names accepts the fd (LISTEN_PID = the child's pid)", async () => {
    const py = `from systemd import daemon; print(daemon.listen_fds_with_names())`;
    const r = await run([shmFd, '-q', '--', python, '-c', py]);
    expect(r.stdout.trim()).toBe("{3: 'SHM_SHARED_FD'}");
  });
});

describe('fds passed in LISTEN_FDS', () => {
  it('appends the shared file after unrelated inherited fds', async () => {
    const other = SharedFd.create({ name: 'other', size: 1 });
    try {
      const py = `import os, sys
print(os.environ["LISTEN_FDS"], os.environ["LISTEN_FDNAMES"], os.readlink("/proc/self/fd/4"))`;
      const r = await run([shmFd, '-q', '--', python, '-c', py], {
        env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'other' },
        stdio: ['ignore', 'pipe', 'pipe', other.fd],
      });
      expect(r.stdout.trim()).toBe('2 other:SHM_SHARED_FD /memfd:persistent (deleted)');
    } finally {
      other.close();
    }
  });

  it('rejects inconsistent LISTEN_* variables with a clear error', async () => {
    const r = await run([shmFd, '--', 'true'], { env: { ...process.env, LISTEN_FDS: '2', LISTEN_FDNAMES: 'one' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^shm-fd: LISTEN_FDNAMES has 1 names but LISTEN_FDS=2/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('systemd fd store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdstore-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands a new memfd to the service manager, and a second shm-fd reuses the stored fd', async () => {
    const address = path.join(dir, 'notify.sock');
    const manager = sys.unixSocket('dgram');
    try {
      sys.bindUnix(manager, address);
      const writer = `const { SharedFd } = require('@shmkit/shm-fd'); const s = SharedFd.fromEnv(); s.resize(4096); const m = s.map(); m.buffer.write('first run'); m.close(); s.close();`;
      const first = await run([shmFd, '--', process.execPath, '-e', writer], { cwd: __dirname, env: { ...process.env, NOTIFY_SOCKET: address } });
      expect(first.status).toBe(0);
      expect(first.stderr).toMatch(/passed memfd "persistent" to the service manager's fd store as SHM_SHARED_FD/);
      const msg = sys.recvWithFds(manager, { nonblocking: true });
      expect(msg?.data.toString()).toBe('FDSTORE=1\nFDNAME=SHM_SHARED_FD');
      expect(msg?.fds).toHaveLength(1);
      using stored = new SharedFd(msg?.fds[0] as number);
      // Write through the stored fd, read it back through a restarted service.
      using m = stored.map();
      expect(m.buffer.toString('utf8', 0, 9)).toBe('first run');
      m.buffer.write('from the manager', 100);
      const reader = `const { SharedFd } = require('@shmkit/shm-fd'); const s = SharedFd.fromEnv(); const m = s.map(); console.log(m.buffer.toString('utf8', 0, 9) + '|' + m.buffer.toString('utf8', 100, 116));`;
      const second = await run([shmFd, '--', process.execPath, '-e', reader], {
        cwd: __dirname,
        env: { ...process.env, NOTIFY_SOCKET: address, LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' },
        stdio: ['ignore', 'pipe', 'pipe', stored.fd],
      });
      expect(second.stdout.trim()).toBe('first run|from the manager');
      expect(second.stderr).toMatch(/reusing SHM_SHARED_FD passed at fd 3/);
      // Nothing new was stored: the fd came from the store.
      expect(sys.recvWithFds(manager, { nonblocking: true })).toBeNull();
    } finally {
      sys.close(manager);
    }
  });
});

describe('signals and exit status', () => {
  it('propagates the exit status', async () => {
    expect((await run([shmFd, '-q', '--', 'sh', '-c', 'exit 7'])).status).toBe(7);
    expect((await run([shmFd, '-q', '--', 'sh', '-c', 'kill -KILL $$'])).status).toBe(137);
  });

  it('forwards SIGTERM to the child and exits with its status; nothing is left running', async () => {
    const child = `process.on('SIGTERM', () => { console.log('child got SIGTERM'); process.exit(42); }); console.log('ready ' + process.pid); setInterval(() => {}, 1000);`;
    const p = start([shmFd, '-q', '--', process.execPath, '-e', child]);
    const ready = await p.waitFor(/ready \d+/);
    const childPid = Number(ready.split(' ')[1]);
    process.kill(p.child.pid as number, 'SIGTERM');
    const r = await p.exited;
    expect(p.stdout()).toContain('child got SIGTERM');
    expect(r.status).toBe(42);
    await until(() => !require('./helpers/proc').alive(childPid), 5000, 'child exit');
  });

  it('a SIGKILLed wrapper does not leave its child running', async () => {
    const p = start([shmFd, '-q', '--', process.execPath, '-e', `console.log('ready ' + process.pid); setInterval(() => {}, 1000);`], { detached: false });
    const childPid = Number((await p.waitFor(/ready \d+/)).split(' ')[1]);
    process.kill(p.child.pid as number, 'SIGKILL');
    await p.exited;
    await until(() => !require('./helpers/proc').alive(childPid), 5000, 'orphan to exit');
  });

  it('watch stops on SIGINT and --errexit stops at the first failure', async () => {
    const p = start([shmFd, 'watch', '-q', '-n', '0.05', '--', 'sh', '-c', 'echo tick']);
    await p.waitFor(/tick\ntick\n/);
    process.kill(p.child.pid as number, 'SIGINT');
    const r = await p.exited;
    expect([0, 130]).toContain(r.status);
    const e = await run([shmFd, 'watch', '-n', '0', '--errexit', '--count', '10', '--', 'sh', '-c', 'echo run; exit 3']);
    expect(e.status).toBe(3);
    expect(e.stdout.match(/run/g)).toHaveLength(1);
    expect(e.stderr).toMatch(/failed with status 3; stopping \(--errexit\)/);
  });
});

describe('bad usage', () => {
  it('exits 2 with a one-line error and a pointer to --help', async () => {
    const r = await run([shmFd, '--nope']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('shm-fd: unknown option --nope');
    expect(r.stderr).toBe("shm-fd: unknown option --nope\nTry 'shm-fd --help'.\n");
    expect((await run([shmFd])).status).toBe(2);
    expect((await run([shmFd, 'watch', '-n', 'x', '--', 'true'])).status).toBe(2);
  });

  it('exits 127 for a command that does not exist', async () => {
    const r = await run([shmFd, '--', 'definitely-not-a-command-shmkit']);
    expect(r.status).toBe(127);
    expect(r.stderr).toBe('shm-fd: definitely-not-a-command-shmkit: command not found\n');
  });

  it('prints help and version', async () => {
    expect((await run([shmFd, '--help'])).stdout).toMatch(/^Usage:/);
    expect((await run([shmFd, '--version'])).stdout).toMatch(/^shm-fd \d+\.\d+\.\d+/);
  });

  it('refuses a --file that is not on tmpfs', async () => {
    const file = path.join(__dirname, '..', `.tmp-disk-${process.pid}`);
    try {
      const r = await run([shmFd, '--file', file, '--', 'true']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/not a memfd or tmpfs file .*\/dev\/shm/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
