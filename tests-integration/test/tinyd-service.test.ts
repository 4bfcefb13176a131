// tinyd under a service manager: socket activation by a real third-party
// implementation (systemd-socket-activate), a refused LISTEN_FDS, sd_notify
// to a fake manager, SIGHUP, JSON and journal logs.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { alive, run, start, until } from './helpers/proc';
import { FakeManager, jsonLines } from './service-helpers';
import { client, tinyd, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const SOCKET_ACTIVATE = '/usr/bin/systemd-socket-activate';
const haveActivate = fs.existsSync(SOCKET_ACTIVATE);

describe('tinyd as a service', () => {
  const t = useTempSocket();

  (haveActivate ? it : it.skip)('is started by systemd-socket-activate on the first client, serves through its socket and leaves that socket file alone', async () => {
    const d = start(['-l', t.socket, '--fdname=tinyd', '-E', `NOTIFY_SOCKET=`, process.execPath, tinyd, '--workers', '0'], { cmd: SOCKET_ACTIVATE });
    await until(() => fs.existsSync(t.socket), 10000, 'the socket systemd-socket-activate binds');
    // The first connection starts tinyd; the client then completes a full round trip.
    const c = client('roundtrip', t.socket, '7');
    expect((await c.exited).status).toBe(0);
    await d.waitFor(/listening on .* \(socket activation, fd 3\)/);
    const st = await run([tinyfileCli, '--socket', t.socket, 'status', '--json']);
    expect(st.status).toBe(0);
    const status = JSON.parse(st.stdout) as { socket: string; totals: { clients: number } };
    expect(status.totals.clients).toBeGreaterThanOrEqual(1);
    // The path of the socket it was handed (not its own default).
    expect(status.socket).toBe(t.socket);
    d.child.kill('SIGTERM');
    expect((await d.exited).status).toBe(0);
    // The socket file belongs to whoever bound it (the activator, or systemd's .socket unit).
    expect(fs.existsSync(t.socket)).toBe(true);
  });

  it('refuses a LISTEN_FDS fd that is not a listening Unix stream socket, with a coded error', async () => {
    const nul = sys.open('/dev/null', sys.constants.O_RDONLY);
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    try {
      const notSocket = await run([tinyd, '--socket', t.socket, '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe', nul], env: { ...process.env, LISTEN_FDS: '1' } });
      expect(notSocket.status).toBe(1);
      expect(notSocket.stderr).toMatch(/LISTEN_FDS fd 3 \(name "unknown"\) is not a socket; expected a listening unix stream socket .*\(ERR_SHM_LISTEN_SOCKET\)/);
      expect(notSocket.stderr).not.toMatch(/\n\s+at /);
      const wrongFamily = await run([tinyd, '--socket', t.socket, '--workers', '0'], {
        stdio: ['ignore', 'pipe', 'pipe', sys.socketFd(tcp)],
        env: { ...process.env, LISTEN_FDS: '1', LISTEN_FDNAMES: 'tinyd' },
      });
      expect(wrongFamily.status).toBe(1);
      expect(wrongFamily.stderr).toMatch(/is a socket of address family inet; expected a listening unix stream socket/);
      // Refused before binding anything of its own.
      expect(fs.existsSync(t.socket)).toBe(false);
    } finally {
      sys.close(nul);
      tcp.close();
    }
  });

  it('tells a service manager READY=1, STATUS=, STOPPING=1 in that order, keeps the watchdog fed, survives SIGHUP and removes its socket on SIGTERM', async () => {
    const m = new FakeManager(t.dir);
    try {
      const d = start([tinyd, '--socket', t.socket, '--workers', '0'], { env: { ...process.env, NOTIFY_SOCKET: m.path, WATCHDOG_USEC: '200000' } });
      await d.waitFor(/listening on/);
      const ready = await m.waitFor(/^READY=1\nSTATUS=0 clients/);
      const c = client('roundtrip', t.socket, '3');
      expect((await c.exited).status).toBe(0);
      // The summary changes once chunks were served; STATUS= follows within about a second.
      const status = await m.waitFor(/^STATUS=.*[1-9][0-9]* chunks/);
      d.child.kill('SIGHUP');
      await d.waitFor('SIGHUP: no --log-file to re-open; still serving');
      expect(alive(d.child.pid as number)).toBe(true);
      const again = client('roundtrip', t.socket, '4');
      expect((await again.exited).status).toBe(0);
      d.child.kill('SIGTERM');
      expect((await d.exited).status).toBe(0);
      const stopping = await m.waitFor(/^STOPPING=1/);
      expect(ready).toBeLessThan(status);
      expect(status).toBeLessThan(stopping);
      // Every 100 ms while it ran (a second or more); a loaded machine only delays them.
      const watchdogs = m.read().filter((s) => s === 'WATCHDOG=1').length;
      expect(watchdogs).toBeGreaterThanOrEqual(2);
      expect(m.read().slice(stopping + 1)).not.toContain('WATCHDOG=1');
      expect(fs.existsSync(t.socket)).toBe(false);
    } finally {
      m.close();
    }
  });

  it('writes JSON log lines with time, level, msg and fields', async () => {
    const d = start([tinyd, '--socket', t.socket, '--workers', '0', '--log-format', 'json', '--log-level', 'debug']);
    await d.waitFor(/listening on/);
    const c = client('roundtrip', t.socket, '5');
    expect((await c.exited).status).toBe(0);
    d.child.kill('SIGTERM');
    expect((await d.exited).status).toBe(0);
    const lines = jsonLines(d.stderr());
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) {
      expect(typeof l['time']).toBe('string');
      expect(['error', 'warn', 'info', 'debug']).toContain(l['level']);
      expect(typeof l['msg']).toBe('string');
    }
    expect(lines[0]).toMatchObject({ level: 'info', name: 'tinyd', socket: t.socket, activated: false });
    expect(lines.some((l) => /^client \d+ registered/.test(l['msg'] as string) && typeof l['client'] === 'number')).toBe(true);
  });

  it('prints <N> priorities without timestamps when stderr is the journal stream (JOURNAL_STREAM matches it)', async () => {
    const logFile = path.join(t.dir, 'journal-stand-in.log');
    const fd = fs.openSync(logFile, 'w');
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      const d = start([tinyd, '--socket', t.socket, '--workers', '0'], { stdio: ['ignore', 'pipe', fd], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
      await until(() => fs.readFileSync(logFile, 'utf8').includes('listening on'), 20000, 'the listening line');
      d.child.kill('SIGTERM');
      expect((await d.exited).status).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
    const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^<6>tinyd: listening on /);
    for (const l of lines) expect(l).toMatch(/^<[3-7]>tinyd: /);
  });

  it('refuses a bad --log-level (usage, exit 2) and a --log-file that is a symlink (exit 1), without a stack trace', async () => {
    const bad = await run([tinyd, '--socket', t.socket, '--log-level', 'verbose']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^tinyd: --log-level must be one of error, warn, info, debug, got "verbose"\nTry 'tinyd --help'\.\n$/);
    const link = path.join(t.dir, 'evil.log');
    fs.symlinkSync(path.join(t.dir, 'target'), link);
    const sym = await run([tinyd, '--socket', t.socket, '--log-file', link]);
    expect(sym.status).toBe(1);
    expect(sym.stderr).toMatch(/is a symlink.*\(ERR_SHM_UNSAFE_PATH\)/);
    expect(sym.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(t.dir, 'target'))).toBe(false);
    expect(fs.existsSync(t.socket)).toBe(false);
  });

  it('re-opens --log-file on SIGHUP after the file was moved away', async () => {
    const logFile = path.join(t.dir, 'tinyd.log');
    const d = start([tinyd, '--socket', t.socket, '--workers', '0', '--log-file', logFile]);
    await until(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('listening on'), 20000, 'the listening line in the log file');
    fs.renameSync(logFile, `${logFile}.1`);
    d.child.kill('SIGHUP');
    await until(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('SIGHUP: re-opened the log file'), 20000, 'the re-opened log file');
    const c = client('roundtrip', t.socket, '6');
    expect((await c.exited).status).toBe(0);
    d.child.kill('SIGTERM');
    expect((await d.exited).status).toBe(0);
    expect(fs.readFileSync(`${logFile}.1`, 'utf8')).toContain('listening on');
    expect(fs.readFileSync(logFile, 'utf8')).toMatch(/stopped/);
    expect(fs.statSync(logFile).mode & 0o777).toBe(0o600);
  });
});
