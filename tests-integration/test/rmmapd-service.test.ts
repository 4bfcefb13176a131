// rmmapd under a service manager: socket activation by systemd-socket-activate,
// a refused LISTEN_FDS, sd_notify to a fake manager, SIGHUP, JSON logs, and
// `rmmapd status` over its local control socket.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { alive, bin, killAll, run, start } from './helpers/proc';
import { jsonLine, startClient, startServer, tempRoot } from './rmmap-helpers';
import { FakeManager, freePort, jsonLines } from './service-helpers';

const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';
const haveActivate = fs.existsSync(SOCKET_ACTIVATE);
const rmmapd = bin('rmmap', 'rmmapd');

interface Status {
  pid: number;
  port: number;
  activated: boolean;
  connections: number;
  mappings: number;
  openFiles: number;
  bytesRead: number;
  bytesWritten: number;
  journal: { path: string; bytes: number; maxBytes: number } | null;
  budgets: Record<string, number>;
}

async function status(control: string): Promise<Status> {
  const r = await run([rmmapd, 'status', '--json', '--control', control]);
  if (r.status !== 0) throw new Error(`rmmapd status failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}

describe('rmmapd as a service', () => {
  let root: string;
  beforeEach(() => {
    root = tempRoot();
    fs.writeFileSync(path.join(root, 'data.bin'), Buffer.alloc(8192, 0x61));
  });
  afterEach(async () => {
    await killAll();
    fs.rmSync(root, { recursive: true, force: true });
  });

  (haveActivate ? it : it.skip)('is started by systemd-socket-activate on the first client and serves it through the passed TCP socket', async () => {
    const port = await freePort();
    const control = path.join(root, '..', `${path.basename(root)}.control.sock`);
    const d = start(['-l', `127.0.0.1:${port}`, '--fdname=rmmapd', process.execPath, rmmapd, '--root', root, '--no-journal', '--control', control, '--port', '1'], {
      cmd: SOCKET_ACTIVATE,
    });
    await d.waitFor(`Listening on 127.0.0.1:${port}`);
    const c = startClient({ host: '127.0.0.1', port, path: 'data.bin', length: 4096, mode: 'read' });
    const got = await c.waitFor(/^read (\S+)$/m);
    expect(Buffer.from(got.slice('read '.length), 'base64').equals(Buffer.alloc(4096, 0x61))).toBe(true);
    await d.waitFor(`listening on 127.0.0.1:${port} (socket activation)`);
    const s = await status(control);
    expect(s).toMatchObject({ activated: true, port });
    expect(s.bytesRead).toBeGreaterThanOrEqual(4096);
    d.child.kill('SIGTERM');
    expect((await d.exited).status).toBe(0);
    expect(fs.existsSync(control)).toBe(false);
  });

  it('refuses a LISTEN_FDS socket of the wrong family with a coded error', async () => {
    const sock = path.join(root, '..', `${path.basename(root)}.unix.sock`);
    const unixServer = net.createServer();
    await new Promise<void>((resolve) => unixServer.listen(sock, resolve));
    try {
      const r = await run([rmmapd, '--root', root, '--no-journal', '--no-control'], {
        stdio: ['ignore', 'pipe', 'pipe', sys.socketFd(unixServer)],
        env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'rmmapd' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/ERR_SHM_LISTEN_SOCKET: LISTEN_FDS fd 3 \(name "rmmapd"\) is a socket of address family unix; expected a listening inet or inet6 stream socket/);
      expect(r.stdout).not.toContain('listening on');
    } finally {
      unixServer.close();
    }
  });

  it('tells a service manager READY=1, STATUS=, STOPPING=1 in that order with the watchdog fed, survives SIGHUP and removes its control socket on SIGTERM', async () => {
    const m = new FakeManager(root);
    const control = path.join(root, 'ctl.sock');
    try {
      const d = start([rmmapd, '--root', root, '--port', '0', '--no-journal', '--control', control, '--log-format', 'json'], {
        env: { ...process.env, NOTIFY_SOCKET: m.path, WATCHDOG_USEC: '200000' },
      });
      const line = await d.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
      const port = Number(/:(\d+)$/.exec(line)?.[1]);
      const ready = await m.waitFor(/^READY=1\nSTATUS=0 connections/);
      const c = startClient({ host: '127.0.0.1', port, path: 'data.bin', length: 4096, mode: 'read' });
      await c.waitFor(/^read /m);
      const statusAt = await m.waitFor(/^STATUS=.* [1-9][0-9]* bytes read/);
      d.child.kill('SIGHUP');
      await d.waitFor('SIGHUP: no --log-file to re-open; still serving');
      expect(alive(d.child.pid as number)).toBe(true);
      expect((await status(control)).bytesRead).toBeGreaterThanOrEqual(4096);
      d.child.kill('SIGTERM');
      expect((await d.exited).status).toBe(0);
      const stopping = await m.waitFor(/^STOPPING=1/);
      expect(ready).toBeLessThan(statusAt);
      expect(statusAt).toBeLessThan(stopping);
      expect(m.read().filter((s) => s === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(2);
      expect(fs.existsSync(control)).toBe(false);
      // Every stderr line is one JSON object with the standard keys.
      const lines = jsonLines(d.stderr());
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const l of lines) expect(l).toMatchObject({ time: expect.any(String), level: expect.stringMatching(/^(error|warn|info|debug)$/), msg: expect.any(String) });
      expect(lines.some((l) => l['event'] === 'connection' && typeof l['client'] === 'string')).toBe(true);
    } finally {
      m.close();
    }
  });

  it('`rmmapd status` shows connections, mappings, open files, journal size, bytes read and written and the budgets, as text and JSON', async () => {
    const control = path.join(root, 'ctl.sock');
    const { port } = await startServer(['--root', root, '--port', '0', '--control', control, '--max-connections', '17']);
    const writer = startClient({ host: '127.0.0.1', port, path: 'data.bin', length: 8192, mode: 'writer', writes: [{ at: 0, hex: '68656c6c6f' }] });
    await writer.waitFor(/^ready$/m);
    const held = await status(control);
    expect(held).toMatchObject({ connections: 1, mappings: 1, openFiles: 1, bytesWritten: 0 });
    expect(held.bytesRead).toBeGreaterThanOrEqual(8192);
    expect(held.budgets).toMatchObject({ maxConnections: 17, maxMappingsPerConnection: 1024 });
    writer.child.stdin?.write('go\n');
    await jsonLine(writer, 'done');
    const after = await status(control);
    expect(after.bytesWritten).toBe(5);
    expect(after.journal?.bytes).toBeGreaterThan(0);
    const text = await run([rmmapd, 'status', '--control', control]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^rmmapd pid \\d+ on 127\\.0\\.0\\.1:${port}, up \\d+ s, root `));
    expect(text.stdout).toMatch(/^connections: 1\/17, /m);
    expect(text.stdout).toMatch(/^mappings: 1\/\d+ \(at most 1024 per connection\), open files: 1$/m);
    expect(text.stdout).toMatch(/^traffic: \d+ (bytes|KiB|MiB) read, 5 bytes written, /m);
    expect(text.stdout).toMatch(/^journal: \S+\.journal, \d+ bytes \(compacted past 64 MiB\)$/m);
    expect(text.stdout).toMatch(/^budgets: 17 connections, /m);
  });

  (process.geteuid?.() === 0 && fs.existsSync('/usr/bin/setpriv') && fs.existsSync('/usr/bin/python3') ? it : it.skip)('answers status only to its own uid and root, even when the control socket file is opened up to others', async () => {
    const control = path.join(root, 'ctl.sock');
    const d = start([rmmapd, '--root', root, '--port', '0', '--no-journal', '--control', control]);
    await d.waitFor(/listening on/);
    // A mistake an operator could make: the directory and socket opened to everyone.
    fs.chmodSync(root, 0o711);
    fs.chmodSync(control, 0o666);
    const probe = `import socket; s = socket.socket(socket.AF_UNIX); s.connect(${JSON.stringify(control)}); print(repr(s.recv(65536)))`;
    const other = await run(['--reuid', '65534', '--regid', '65534', '--clear-groups', '/usr/bin/python3', '-c', probe], { cmd: '/usr/bin/setpriv' });
    expect({ out: other.stdout.trim(), err: other.stderr }).toEqual({ out: "b''", err: "" });
    await d.waitFor(/control socket: refused pid \d+ of uid 65534 \(only root may ask\)/);
    expect((await status(control)).pid).toBe(d.child.pid);
  });

  (process.geteuid?.() === 0 && fs.existsSync('/usr/bin/setpriv') ? it : it.skip)('`rmmapd status` trusts an rmmapd of another uid only when asked as root or told --daemon-uid', async () => {
    // rmmapd as uid 65534 (a service's own user), its control socket in a directory of its own.
    fs.chmodSync(root, 0o755);
    const ctlDir = path.join(root, 'ctl');
    fs.mkdirSync(ctlDir, { mode: 0o755 });
    fs.chownSync(ctlDir, 65534, 65534);
    const control = path.join(ctlDir, 'ctl.sock');
    const asUid = (uid: number) => ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', process.execPath];
    const d = start([...asUid(65534), rmmapd, '--root', root, '--port', '0', '--no-journal', '--control', control], { cmd: '/usr/bin/setpriv' });
    await d.waitFor(/listening on/);
    const asRoot = await status(control);
    expect(asRoot.pid).toBeGreaterThan(0);
    // Opened up by mistake, so that uid 65533 can connect at all.
    fs.chmodSync(control, 0o666);
    const untrusted = await run([...asUid(65533), rmmapd, 'status', '--control', control], { cmd: '/usr/bin/setpriv' });
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/ERR_RMMAP_UNTRUSTED_DAEMON: the process at .* runs as uid 65534, neither this user \(uid 65533\) nor root; .* --daemon-uid 65534/);
    const refused = await run([...asUid(65533), rmmapd, 'status', '--control', control, '--daemon-uid', '65534'], { cmd: '/usr/bin/setpriv' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/ERR_RMMAP_STATUS_REFUSED: .* answers only its own uid and root/);
    await d.waitFor(/control socket: refused pid \d+ of uid 65533 \(only uid 65534 and root may ask\)/);
  });

  it('`rmmapd status` names what to do when no rmmapd answers', async () => {
    const r = await run([rmmapd, 'status', '--control', path.join(root, 'nobody.sock')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERR_RMMAP_NOT_RUNNING: no rmmapd answers at .*nobody\.sock \(ENOENT\)/);
    const usage = await run([rmmapd, 'status', '--port', '7878', '--control', 'x']);
    expect(usage.status).toBe(2);
  });
});

