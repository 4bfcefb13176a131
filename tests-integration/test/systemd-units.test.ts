// The unit files of deploy/systemd: checked by `systemd-analyze verify`,
// and run under a real systemd booted in private namespaces
// (helpers/systemd-ns.ts): the fd store keeps shm-fd's table across
// restarts, shm-restore recovers after everything is SIGKILLed, and a
// child of shm-fd reports readiness through it (NotifyAccess=main).
// The daemons' units (tinyd, rmmapd) are in systemd-daemons.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { localUnit, shippedUnits } from './helpers/deploy-units';
import { bin, repoRoot, run, until } from './helpers/proc';
import { SystemdNamespace, systemdUnavailable } from './helpers/systemd-ns';

const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));

(ANALYZE !== undefined ? test : test.skip)(
  `systemd-analyze verify passes on every shipped unit${ANALYZE === undefined ? ' (skipped: no systemd-analyze; install Debian package systemd)' : ''}`,
  async () => {
    const units = shippedUnits();
    expect(units).toEqual(
      expect.arrayContaining(['shmkit-primes.service', 'shmkit-primes-restore.service', 'tinyd.socket', 'tinyd.service', 'rmmapd.socket', 'rmmapd.service']),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-units-'));
    try {
      for (const u of units) fs.writeFileSync(path.join(dir, u), localUnit(u));
      const r = await run(['verify', ...units.map((u) => path.join(dir, u))], { cmd: ANALYZE as string });
      expect({ status: r.status, output: r.stdout + r.stderr }).toEqual({ status: 0, output: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
if (ANALYZE === undefined) console.warn('systemd-units: skipping systemd-analyze verify: no systemd-analyze (Debian package systemd)');

const unavailable = systemdUnavailable();
if (unavailable !== null) console.warn(`systemd-units: skipping the real-systemd tests: ${unavailable}`);

// Test-only units beside the shipped ones: the same shm-fd command as a
// Type=simple service (whose store systemd drops once it has exited), and
// a Type=notify service whose readiness comes from shm-fd's child.
const shmFd = bin('shm-fd', 'shm-fd');
const primes = path.join(repoRoot, 'examples', 'primes', 'primes.js');
const counter = path.join(repoRoot, 'tests-integration', 'test', 'fixtures', 'notify-counter.js');
const testUnits: Record<string, string> = {
  'primes-simple.service': `[Service]\nType=simple\nFileDescriptorStoreMax=1\nNotifyAccess=main\nExecStart=${shmFd} run --size 8M -- node ${primes} --chunk 1000\n`,
  // The recipe docs/systemd.md gives for a long-running program.
  'app-notify.service': `[Service]\nType=notify\nNotifyAccess=main\nFileDescriptorStoreMax=1\nRestart=on-failure\nExecStart=${shmFd} run -- node ${counter}\n`,
  // --notify pass hands the child systemd's socket: main no longer hears it.
  'app-notify-pass.service': `[Service]\nType=notify\nNotifyAccess=main\nFileDescriptorStoreMax=1\nExecStart=${shmFd} run --notify pass -- node ${counter}\n`,
};

(unavailable === null ? describe : describe.skip)(`shipped units under a real systemd${unavailable === null ? '' : ` (skipped: ${unavailable})`}`, () => {
  let ns: SystemdNamespace;

  beforeAll(async () => {
    ns = await SystemdNamespace.boot({
      'shmkit-primes.service': localUnit('shmkit-primes.service'),
      'shmkit-primes-restore.service': localUnit('shmkit-primes-restore.service'),
      ...testUnits,
    });
  });

  afterAll(async () => {
    await ns?.poweroff();
  });

  const totals = (unit: string) => [...ns.log(unit).matchAll(/total (\d+)/g)].map((m) => Number(m[1]));

  test('shmkit-primes.service keeps its table in the fd store across two restarts and a daemon-reload; stop clears it', async () => {
    const u = 'shmkit-primes.service';
    await ns.ok('start', u);
    await ns.ok('restart', u);
    // The store is serialized with the unit across a reload of the manager.
    await ns.ok('daemon-reload');
    await ns.ok('restart', u);
    expect(totals(u)).toEqual([100002, 200002, 300002]);
    expect(ns.log(u).match(/reusing SHM_SHARED_FD/g)).toHaveLength(2);
    expect(await ns.property(u, 'ActiveState')).toBe('active');
    expect(await ns.property(u, 'NFileDescriptorStore')).toBe('1');

    // stop: the unit becomes inactive and systemd closes the stored memfd.
    await ns.ok('stop', u);
    expect(await ns.property(u, 'NFileDescriptorStore')).toBe('0');
    await ns.ok('start', u);
    expect(totals(u)).toEqual([100002, 200002, 300002, 100002]);
  });

  test('a Type=simple unit loses the store once its process has exited (why the shipped unit is oneshot + RemainAfterExit)', async () => {
    const u = 'primes-simple.service';
    for (let i = 1; i <= 2; i++) {
      await ns.ok('start', u);
      await until(() => totals(u).length === i, 20000, `run ${i} of ${u}`);
      expect(await ns.waitState(u, ['inactive', 'failed'])).toBe('inactive');
    }
    expect(totals(u)).toEqual([1002, 1002]);
    expect(ns.log(u)).not.toMatch(/reusing SHM_SHARED_FD/);
  });

  test('shmkit-primes-restore.service recovers after systemctl kill -s SIGKILL, and after a stop from the backup file', async () => {
    const u = 'shmkit-primes-restore.service';
    const committed = () => [...ns.log(u).matchAll(/committed (\d+) primes/g)].map((m) => Number(m[1]));
    const resumed = () => [...ns.log(u).matchAll(/resumed with (\d+) primes/g)].map((m) => Number(m[1]));
    await ns.ok('start', u);
    await until(() => committed().length >= 5, 30000, `${u} to commit`);
    await ns.ok('kill', '-s', 'SIGKILL', u);
    const before = Math.max(...committed());
    const commitsBefore = committed().length;
    // Restart=on-failure brings it back; it continues the same table.
    await until(() => resumed().length === 2, 30000, `${u} to restart after SIGKILL`).catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await ns.describe([u])}`);
    });
    expect(resumed()[0]).toBe(0);
    // Nothing committed before the kill is lost (a commit the kill cut off
    // before its log line may be there too).
    expect(resumed()[1]).toBeGreaterThanOrEqual(before);
    expect(Number(await ns.property(u, 'NRestarts'))).toBe(1);
    // Through Restart= the unit never became inactive: the memfd came back from the fd store.
    expect(ns.log(u).match(/reusing SHM_SHARED_FD/g)).toHaveLength(1);

    // stop drops the stored memfd; the next start refills it from the
    // backup on disk, as after a reboot.
    await until(() => committed().length >= commitsBefore + 3, 30000, `${u} to commit after its restart`);
    await ns.ok('stop', u);
    expect(await ns.property(u, 'NFileDescriptorStore')).toBe('0');
    const last = Math.max(...committed());
    expect(fs.statSync(ns.inside('/var/lib/shmkit-primes/primes.backup')).size).toBeGreaterThan(0);
    await ns.ok('start', u);
    await until(() => resumed().length === 3, 30000, `${u} to start from its backup`);
    expect(resumed()[2]).toBeGreaterThanOrEqual(last);
    expect(ns.log(u).match(/reusing SHM_SHARED_FD/g)).toHaveLength(1);
    await ns.ok('stop', u);
  });

  test("a long-running program under shm-fd reports readiness through it (NotifyAccess=main) and keeps its state across restart and SIGKILL", async () => {
    const u = 'app-notify.service';
    // systemctl start returns once the child's READY=1 arrived; its STATUS= is the run count.
    await ns.ok('start', u);
    expect(await ns.property(u, 'ActiveState')).toBe('active');
    expect(await ns.property(u, 'StatusText')).toBe('run 1');
    await ns.ok('restart', u);
    expect(await ns.property(u, 'StatusText')).toBe('run 2');
    await ns.ok('kill', '-s', 'SIGKILL', u);
    await until(() => /run 3/.test(ns.log(u)), 20000, `${u} to come back after SIGKILL`);
    expect(await ns.waitState(u, ['active', 'failed'])).toBe('active');
    expect(await ns.property(u, 'StatusText')).toBe('run 3');
    expect(await ns.property(u, 'NRestarts')).toBe('1');
    await ns.ok('stop', u);
    await ns.ok('start', u);
    expect(await ns.property(u, 'StatusText')).toBe('run 1');
    await ns.ok('stop', u);
  });

  test('with --notify pass and NotifyAccess=main the child of shm-fd cannot report readiness: the unit stays activating', async () => {
    const main = 'app-notify-pass.service';
    await ns.ok('start', '--no-block', main);
    expect(await ns.waitState(main, ['activating', 'active', 'failed'])).toBe('activating');
    // PID 1 says so on its console when it drops a message from another pid.
    await until(() => /reception only permitted for main PID/.test(ns.console()), 20000, 'systemd to refuse the child').catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await ns.describe([main])}`);
    });
    expect(await ns.property(main, 'ActiveState')).toBe('activating');
    await ns.ok('stop', main);
  });
});
