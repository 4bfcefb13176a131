// `shm-push receive` under a service manager: socket activation by
// systemd-socket-activate, sd_notify to a fake manager, SIGHUP, JSON logs.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { alive, bin, killAll, run, start } from './helpers/proc';
import { FakeManager, freePort, jsonLines } from './service-helpers';

const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';
const haveActivate = fs.existsSync(SOCKET_ACTIVATE);
const shmPush = bin('push', 'shm-push');

describe('shm-push receive as a service', () => {
  let dir: string;
  let src: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'push-svc-'));
    fs.mkdirSync(path.join(dir, 'in'));
    src = path.join(dir, 'payload.bin');
    fs.writeFileSync(src, Buffer.alloc(100_000, 7));
  });
  afterEach(async () => {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  (haveActivate ? it : it.skip)('is started by systemd-socket-activate on the first push and stores it', async () => {
    const port = await freePort();
    const r = start(['-l', `127.0.0.1:${port}`, '--fdname=shm-push', process.execPath, shmPush, 'receive', '--port', '1', '--dir', path.join(dir, 'in'), '--once'], { cmd: SOCKET_ACTIVATE });
    await r.waitFor(`Listening on 127.0.0.1:${port}`);
    const sent = await run([shmPush, 'send', src, `127.0.0.1:${port}`]);
    expect(sent.status).toBe(0);
    expect((await r.exited).status).toBe(0);
    expect(r.stdout()).toMatch(new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(socket activation\\)`));
    expect(fs.readFileSync(path.join(dir, 'in', 'payload.bin')).equals(fs.readFileSync(src))).toBe(true);
  });

  it('refuses a LISTEN_FDS socket that is not a listening TCP socket, naming it, without a stack trace', async () => {
    const unixServer = net.createServer();
    await new Promise<void>((resolve) => unixServer.listen(path.join(dir, 'u.sock'), resolve));
    try {
      const r = await run([shmPush, 'receive', '--port', '0', '--dir', path.join(dir, 'in')], {
        stdio: ['ignore', 'pipe', 'pipe', sys.socketFd(unixServer)],
        env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'shm-push' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^shm-push: LISTEN_FDS fd 3 \(name "shm-push"\) is a socket of address family unix; expected a listening inet or inet6 stream socket/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    } finally {
      unixServer.close();
    }
  });

  it('tells a service manager READY=1, STATUS=, STOPPING=1 in order, survives SIGHUP and logs JSON lines', async () => {
    const m = new FakeManager(dir);
    try {
      const r = start([shmPush, 'receive', '--port', '0', '--dir', path.join(dir, 'in'), '--log-format', 'json'], { env: { ...process.env, NOTIFY_SOCKET: m.path } });
      const line = await r.waitFor(/listening on 127\.0\.0\.1:\d+/);
      const port = Number(/:(\d+)$/.exec(line)?.[1]);
      const ready = await m.waitFor(/^READY=1\nSTATUS=0 transfers, 0 stored/);
      expect((await run([shmPush, 'send', src, `127.0.0.1:${port}`])).status).toBe(0);
      const status = await m.waitFor(/^STATUS=.*1 stored, 0 failed, 100000 bytes stored/);
      r.child.kill('SIGHUP');
      await r.waitFor('SIGHUP: no --log-file to re-open; still serving');
      expect(alive(r.child.pid as number)).toBe(true);
      r.child.kill('SIGTERM');
      expect((await r.exited).status).toBe(0);
      const stopping = await m.waitFor(/^STOPPING=1/);
      expect(ready).toBeLessThan(status);
      expect(status).toBeLessThan(stopping);
      const lines = jsonLines(r.stderr());
      expect(lines.some((l) => l['event'] === 'receiving' && typeof l['client'] === 'string' && l['level'] === 'info')).toBe(true);
      for (const l of lines) expect(l).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String), name: 'shm-push' });
    } finally {
      m.close();
    }
  });
});
