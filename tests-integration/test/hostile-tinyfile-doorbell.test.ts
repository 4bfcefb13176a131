// tinyd rings only the doorbells of the client at the other end of each
// channel's socket (SO_PEERCRED): a client that writes another process's
// pipe into its channel's Notifier slots gets that process no wakeups, and
// tinyd keeps serving.
import path from 'node:path';

import { run, start } from './helpers/proc';
import { startBellTarget, type BellTarget } from './fixtures/hostile-shm-state/bell-target';
import { startDaemon, useTempSocket } from './tinyfile-helpers';

const CLIENT = path.join(__dirname, 'fixtures', 'hostile-shm-state', 'doorbell-client.js');
const HONEST = path.join(__dirname, 'fixtures', 'hostile-tinyfile', 'honest-client.js');
const isRoot = process.geteuid?.() === 0;
const t = useTempSocket();
const targets: BellTarget[] = [];

afterEach(() => {
  for (const x of targets.splice(0)) x.remove();
});

const cases = [{ name: 'a sleeping process of the same uid', asNobody: false }, ...(isRoot ? [{ name: 'a process of uid 65534', asNobody: true }] : [])];
if (!isRoot) test.skip('a forged doorbell naming a process of uid 65534 (skipped: needs root to run a process as uid 65534)', () => undefined);

describe.each(cases)('a client that writes $name into its channel\'s doorbell slots', ({ asNobody }) => {
  test('tinyd never opens that process\'s pipe, still rings the client\'s own, and keeps serving', async () => {
    const target = await startBellTarget(asNobody);
    targets.push(target);
    const d = await startDaemon(t.socket, ['--workers', '1']);
    const tinydPid = d.child.pid as number;
    const c = start([CLIENT, t.socket, String(target.pid), String(target.fd), String(target.ino)]);
    expect((await c.exited).status).toBe(0);
    expect(c.stdout()).toMatch(/^forged\nanswered OK\nown bell rung\n$/);
    expect(target.openedBy(tinydPid)).toBe(0);
    expect(target.pending()).toBe(0);
    expect(d.child.exitCode).toBeNull();
    const honest = await run([HONEST, 'connect', t.socket], { timeoutMs: 30_000 });
    expect(honest.stdout.trim()).toBe('ok');
  });
});
