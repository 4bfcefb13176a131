// The wrappers relay their child's sd_notify messages from their own pid,
// so a unit works with NotifyAccess=main. A python3 receiver stands in for
// the service manager and reads each sender's pid the way systemd does
// (SO_PASSCRED, SCM_CREDENTIALS).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { bin, killAll, run, start, type Proc } from './helpers/proc';

const shmFd = bin('shm-fd', 'shm-fd');
const shmRestore = bin('shm-snapshot', 'shm-restore');
const python = '/usr/bin/python3';

const RECEIVER = `import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(8192, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(256))
    pid = -1
    for level, kind, d in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", d[:12])[0]
    print(json.dumps([pid, data.decode("utf-8", "replace")]), flush=True)
    if data == b"END":
        break
`;

// The child: says who it is, then sends what a service sends, and what a
// wrapper must not pass on (MAINPID=, an fd for the store, an oversized
// message).
const CHILD = `import os, socket
a = os.environ.get("NOTIFY_SOCKET")
print("child", os.getpid(), a or "-", os.environ.get("WATCHDOG_PID", "-"), flush=True)
if a:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1\\nSTATUS=serving\\nMAINPID=1", a)
    r, w = os.pipe()
    s.sendmsg([b"FDSTORE=1\\nFDNAME=stolen"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(memoryview(__import__("array").array("i", [r]))))], 0, a)
    s.sendto(b"STATUS=" + b"x" * 5000, a)
    s.sendto(b"STOPPING=1", a)
`;

interface Received {
  pid: number;
  data: string;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-relay-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

let n = 0;
async function manager(): Promise<{ path: string; proc: Proc; finish: () => Promise<Received[]> }> {
  const address = path.join(dir, `manager-${++n}.sock`);
  const proc = start(['-c', RECEIVER, address], { cmd: python });
  await proc.waitFor('bound');
  const finish = async () => {
    // Everything the wrapper relays is sent before it exits; END comes after it.
    const fd = sys.unixSocket('dgram');
    try {
      sys.sendWithFds(fd, Buffer.from('END'), [], { to: address });
    } finally {
      sys.close(fd);
    }
    await proc.exited;
    return proc
      .stdout()
      .split('\n')
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as [number, string])
      .filter(([, data]) => data !== 'END')
      .map(([pid, data]) => ({ pid, data }));
  };
  return { path: address, proc, finish };
}

function childPid(stdout: string): number {
  const m = /^child (\d+) /m.exec(stdout);
  if (m === null) throw new Error(`the child did not report: ${stdout}`);
  return Number(m[1]);
}

describe('shm-fd relays its child readiness', () => {
  it('sends READY=1 and STATUS= from the wrapper pid and drops MAINPID=, FDSTORE= and oversized messages', async () => {
    const m = await manager();
    const p = start([shmFd, '--', python, '-c', CHILD], { env: { ...process.env, NOTIFY_SOCKET: m.path, WATCHDOG_USEC: '5000000', WATCHDOG_PID: '' } });
    const r = await p.exited;
    expect(r.status).toBe(0);
    const wrapper = p.child.pid as number;
    const child = childPid(p.stdout());
    expect(child).not.toBe(wrapper);
    // The child gets a socket of the wrapper's, and WATCHDOG_PID names it.
    expect(p.stdout()).toMatch(/^child \d+ \/\S+\/notify-\d+-[0-9a-f]+\.sock \d+$/m);
    expect(p.stdout()).toContain(`child ${child} `);
    expect(p.stdout().trim().endsWith(` ${child}`)).toBe(true);
    const got = await m.finish();
    expect(got).toEqual([
      { pid: wrapper, data: 'FDSTORE=1\nFDNAME=SHM_SHARED_FD' }, // the wrapper's own memfd
      { pid: wrapper, data: 'READY=1\nSTATUS=serving' },
      { pid: wrapper, data: 'STOPPING=1' },
    ]);
    expect(p.stderr()).toMatch(/dropped MAINPID= from the child's notify message/);
    expect(p.stderr()).toMatch(/dropped FDSTORE= from the child's notify message: the wrapper owns the fd store/);
    expect(p.stderr()).toMatch(/dropped a notify message of more than 4096 bytes/);
    // The relay's socket is gone with the wrapper.
    const address = /^child \d+ (\S+)/m.exec(p.stdout())?.[1] as string;
    expect(fs.existsSync(address)).toBe(false);
  });

  it('gives the child no NOTIFY_SOCKET and sends nothing when NOTIFY_SOCKET is unset', async () => {
    const m = await manager();
    const env = { ...process.env };
    delete env['NOTIFY_SOCKET'];
    const r = await run([shmFd, '-q', '--', python, '-c', CHILD], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^child \d+ - -$/m);
    expect(await m.finish()).toEqual([]);
  });

  it('--notify pass hands the child NOTIFY_SOCKET itself: its messages come from its own pid', async () => {
    const m = await manager();
    const p = start([shmFd, '-q', '--notify', 'pass', '--', python, '-c', CHILD], { env: { ...process.env, NOTIFY_SOCKET: m.path } });
    expect((await p.exited).status).toBe(0);
    const child = childPid(p.stdout());
    const got = await m.finish();
    expect(got.filter((g) => g.data.startsWith('READY=1'))).toEqual([{ pid: child, data: 'READY=1\nSTATUS=serving\nMAINPID=1' }]);
  });

  it('refuses an unknown --notify mode', async () => {
    const r = await run([shmFd, '--notify', 'all', '--', 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^shm-fd: --notify: "all" is neither 'relay' nor 'pass'/);
  });
});

describe('shm-restore relays its child readiness', () => {
  it('sends READY=1 from the wrapper pid', async () => {
    const m = await manager();
    const p = start([shmRestore, '-q', path.join(dir, 'backup'), '--', python, '-c', CHILD], { env: { ...process.env, NOTIFY_SOCKET: m.path } });
    expect((await p.exited).status).toBe(0);
    const wrapper = p.child.pid as number;
    const got = await m.finish();
    expect(got.filter((g) => g.data.startsWith('READY=1') || g.data.startsWith('STOPPING=1'))).toEqual([
      { pid: wrapper, data: 'READY=1\nSTATUS=serving' },
      { pid: wrapper, data: 'STOPPING=1' },
    ]);
  });
});
