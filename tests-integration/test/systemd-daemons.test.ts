// tinyd and rmmapd as systemd services: the shipped socket and service
// units of deploy/systemd run under a real systemd booted in private
// namespaces (helpers/systemd-ns.ts). The first client starts the daemon
// through its socket unit (LISTEN_FDS), the daemon is `active` only once it
// has sent READY=1, WATCHDOG=1 keeps it alive, and `systemctl stop` drains
// it while systemd keeps the socket, so the next client starts it again.
import fs from 'node:fs';
import path from 'node:path';

import { localUnit } from './helpers/deploy-units';
import { bin, repoRoot } from './helpers/proc';
import { SystemdNamespace, systemdUnavailable } from './helpers/systemd-ns';

const unavailable = systemdUnavailable();
if (unavailable !== null) console.warn(`systemd-daemons: skipping the real-systemd tests: ${unavailable}`);

const tinyfile = bin('tinyfile', 'tinyfile');
const rmmapRead = path.join(repoRoot, 'tests-integration', 'test', 'fixtures', 'rmmap-read.js');
const TINYD_SOCKET = '/run/tinyfile/tinyd.sock';

// The shipped units, except a 2 s watchdog (instead of 30 s) so that the
// daemons' WATCHDOG=1 pings are seen within the test.
const fastWatchdog = (text: string) => text.replace(/^WatchdogSec=.*$/m, 'WatchdogSec=2s');

(unavailable === null ? describe : describe.skip)(`tinyd and rmmapd under a real systemd${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  let ns: SystemdNamespace;

  beforeAll(async () => {
    ns = await SystemdNamespace.boot({
      'tinyd.socket': localUnit('tinyd.socket'),
      'tinyd.service': fastWatchdog(localUnit('tinyd.service')),
      'rmmapd.socket': localUnit('rmmapd.socket'),
      'rmmapd.service': fastWatchdog(localUnit('rmmapd.service')),
      // The control for readiness: a Type=notify service that never sends READY=1.
      'never-ready.service': '[Service]\nType=notify\nExecStart=/bin/sleep infinity\n',
    });
  });

  afterAll(async () => {
    await ns?.poweroff();
  });

  /**
   * Runs the tinyfile CLI as root inside the namespace. A client trusts
   * only its own uid and TINYFILE_DAEMON_UID, and checks the credentials
   * of whoever last called listen() on the socket: systemd (root) until
   * tinyd first runs, then tinyd (Node listens again on the socket it was
   * given), under its DynamicUser= uid, even after it stopped. That uid is
   * derived from the user name (tinyfile), so it stays the same.
   */
  let tinydUid: string | undefined;
  async function tinyfileCli(...args: string[]) {
    const uid = await ns.property('tinyd.service', 'UID');
    if (/^\d+$/.test(uid)) tinydUid = uid;
    const env = tinydUid === undefined ? process.env : { ...process.env, TINYFILE_DAEMON_UID: tinydUid };
    const r = await ns.exec([process.execPath, tinyfile, '--socket', TINYD_SOCKET, ...args], { timeoutMs: 30000, env });
    expect({ args, status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ args, status: 0, stderr: '' });
    return r;
  }

  /** Compresses and decompresses a file through tinyd.socket. */
  async function tinyfileRoundTrip(name: string): Promise<void> {
    const src = path.join(ns.dir, name);
    const input = Buffer.from(`${name}: compressed by a socket-activated tinyd\n`.repeat(20000));
    fs.writeFileSync(src, input);
    await tinyfileCli('compress', src, '-o', `${src}.sz`);
    await tinyfileCli('decompress', `${src}.sz`, '-o', `${src}.out`);
    expect(fs.readFileSync(`${src}.out`).equals(input)).toBe(true);
  }

  test('a Type=notify service that never sends READY=1 stays activating (the control)', async () => {
    await ns.ok('start', '--no-block', 'never-ready.service');
    expect(await ns.waitState('never-ready.service', ['activating', 'active', 'failed'])).toBe('activating');
    expect(Number(await ns.property('never-ready.service', 'MainPID'))).toBeGreaterThan(0);
    await ns.ok('stop', 'never-ready.service');
  });

  test('tinyd.socket starts tinyd on the first client; tinyd is active once ready and reports its status', async () => {
    await ns.ok('start', 'tinyd.socket');
    expect(await ns.property('tinyd.service', 'ActiveState')).toBe('inactive');
    await tinyfileRoundTrip('first.txt');
    expect(await ns.property('tinyd.service', 'ActiveState')).toBe('active');
    // It took the socket systemd made: nothing else is listening, and the
    // socket file is systemd's (root's, 0600), not one tinyd bound.
    const st = fs.statSync(ns.inside(TINYD_SOCKET));
    expect({ socket: st.isSocket(), uid: st.uid, mode: (st.mode & 0o777).toString(8) }).toEqual({ socket: true, uid: 0, mode: '600' });
    const status = await tinyfileCli('status');
    expect(status.stdout).toContain(`tinyd pid ${await ns.property('tinyd.service', 'MainPID')}`);
    // STATUS= lines and WATCHDOG=1 pings reach systemd.
    await pollProperty('tinyd.service', 'StatusText', (v) => v !== '');
    await pollProperty('tinyd.service', 'WatchdogTimestampMonotonic', (v) => v !== '' && v !== '0');
  });

  test('systemctl reload (SIGHUP) leaves tinyd serving, the same process', async () => {
    const pid = await ns.property('tinyd.service', 'MainPID');
    await ns.ok('reload', 'tinyd.service');
    // Served by the same tinyd: had SIGHUP killed it, this client would have started a new one.
    const status = await tinyfileCli('status');
    expect(status.stdout).toContain(`tinyd pid ${pid}`);
    expect(await ns.property('tinyd.service', 'MainPID')).toBe(pid);
    expect(await ns.property('tinyd.service', 'ActiveState')).toBe('active');
  });

  test('systemctl stop drains tinyd; systemd keeps the socket and the next client starts it again', async () => {
    await ns.ok('stop', 'tinyd.service');
    expect(await ns.property('tinyd.service', 'ActiveState')).toBe('inactive');
    expect(await ns.property('tinyd.service', 'Result')).toBe('success');
    expect(await ns.property('tinyd.service', 'ExecMainStatus')).toBe('0');
    expect(ns.log('tinyd.service')).toMatch(/SIGTERM/);
    expect(await ns.property('tinyd.socket', 'ActiveState')).toBe('active');
    expect(fs.statSync(ns.inside(TINYD_SOCKET)).isSocket()).toBe(true);
    await tinyfileRoundTrip('second.txt');
    expect(await ns.property('tinyd.service', 'ActiveState')).toBe('active');
    expect(Number(await ns.property('tinyd.service', 'NRestarts'))).toBe(0);
    expect(await ns.property('tinyd.service', 'UID')).toBe(tinydUid);
  });

  test('rmmapd.socket starts rmmapd on the first client, which reads a file of its root', async () => {
    // The served root is rmmapd's StateDirectory (DynamicUser=: under /var/lib/private).
    fs.mkdirSync(ns.inside('/var/lib/private/rmmapd'), { recursive: true, mode: 0o700 });
    fs.chmodSync(ns.inside('/var/lib/private'), 0o700);
    fs.writeFileSync(ns.inside('/var/lib/private/rmmapd/hello.txt'), 'hello from a socket-activated rmmapd');
    await ns.ok('start', 'rmmapd.socket');
    expect(await ns.property('rmmapd.service', 'ActiveState')).toBe('inactive');
    const r = await ns.exec([process.execPath, rmmapRead, '127.0.0.1', '7878', 'hello.txt', '36'], { timeoutMs: 30000 });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'read "hello from a socket-activated rmmapd"\n', stderr: '' });
    expect(await ns.property('rmmapd.service', 'ActiveState')).toBe('active');
    await pollProperty('rmmapd.service', 'WatchdogTimestampMonotonic', (v) => v !== '' && v !== '0');
  });

  test('rmmapd status (as root) reaches the activated rmmapd through its control socket in RuntimeDirectory=', async () => {
    const st = await ns.exec([process.execPath, bin('rmmap', 'rmmapd'), 'status', '--json', '--control', '/run/rmmapd/control-7878.sock'], { timeoutMs: 30000 });
    expect({ status: st.status, stderr: st.stderr }).toEqual({ status: 0, stderr: '' });
    const status = JSON.parse(st.stdout) as { pid: number; activated: boolean; port: number; journal: { path: string } | null };
    expect({ pid: status.pid, activated: status.activated, port: status.port, journal: status.journal?.path }).toEqual({
      pid: Number(await ns.property('rmmapd.service', 'MainPID')),
      activated: true,
      port: 7878,
      journal: '/run/rmmapd/served.journal',
    });
  });

  test('systemctl stop drains rmmapd; a client reconnecting through the socket starts it again', async () => {
    await ns.ok('stop', 'rmmapd.service');
    expect(await ns.property('rmmapd.service', 'Result')).toBe('success');
    expect(await ns.property('rmmapd.service', 'ExecMainStatus')).toBe('0');
    expect(await ns.property('rmmapd.socket', 'ActiveState')).toBe('active');
    // The write journal outlives the stop (RuntimeDirectoryPreserve=yes), in a private directory.
    expect((fs.statSync(ns.inside('/run/rmmapd')).mode & 0o777).toString(8)).toBe('700');
    expect(fs.statSync(ns.inside('/run/rmmapd/served.journal')).isFile()).toBe(true);
    const r = await ns.exec([process.execPath, rmmapRead, '127.0.0.1', '7878', 'hello.txt', '5'], { timeoutMs: 30000 });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'read "hello"\n' });
  });

  async function pollProperty(unit: string, name: string, ok: (v: string) => boolean, timeoutMs = 20000): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await ns.property(unit, name);
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`${unit} ${name}=${JSON.stringify(v)} after ${timeoutMs} ms\n${await ns.describe([unit])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});
