// Crashes and hostile peers, with real processes and real SIGKILL.
import fs from 'node:fs';

import { killGroup, run, until } from './helpers/proc';
import { client, devShm, parseStatus, startDaemon, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const t = useTempSocket();

async function status() {
  const r = await run([tinyfileCli, '--socket', t.socket, 'status', '--json']);
  expect(r.status).toBe(0);
  return parseStatus(r.stdout);
}

test('SIGKILL of a client mid-request: its segments are reclaimed, /dev/shm is untouched, others carry on', async () => {
  const shmBefore = devShm();
  const d = await startDaemon(t.socket, ['--workers', '2', '--n-sms', '8']);
  const victim = client('loop', t.socket, String(8 * 1024 * 1024));
  const bystander = client('loop', t.socket, String(100_000));
  await victim.waitFor('ready', 60_000);
  await bystander.waitFor('ready', 60_000);
  expect((await status()).segments.used).toBe(8);
  // The victim always has chunks in flight: kill it in the middle of one.
  killGroup(victim.child, 'SIGKILL');
  await victim.exited;
  await d.waitFor(/client \d+ disconnected \(pid \d+/);
  let s = await status();
  for (let i = 0; i < 200 && s.segments.used !== 4; i++) {
    await new Promise((r) => setTimeout(r, 25));
    s = await status();
  }
  expect(s.segments.used).toBe(4);
  expect(s.clients.map((c) => c.pid)).toEqual([bystander.child.pid]);
  // A new client gets the reclaimed segments.
  const late = client('roundtrip', t.socket, '5');
  expect((await late.exited).status).toBe(0);
  expect(bystander.stdout()).not.toMatch(/err|FAIL/);
  // Other tests on this machine use /dev/shm too: only look at what is new.
  expect(devShm().filter((n) => !shmBefore.includes(n) && /tiny/.test(n))).toEqual([]);
  // The daemon holds one channel memfd per live client, and no more.
  await until(() => channelFds(d.child.pid!) === 1, 10_000, 'the daemon to close the dead clients\' memfds');
  expect(d.child.exitCode).toBeNull();
});

function channelFds(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('/memfd:tinyfile-client-')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

test('SIGKILL of the daemon: async and blocking calls fail cleanly; a reconnect client resumes after restart', async () => {
  const d = await startDaemon(t.socket, ['--workers', '1']);
  const asyncClient = client('loop', t.socket, String(2 * 1024 * 1024), 'reconnect');
  const syncClient = client('syncloop', t.socket, String(4 * 1024 * 1024));
  await asyncClient.waitFor('ready', 60_000);
  await syncClient.waitFor('ready', 60_000);
  killGroup(d.child, 'SIGKILL');
  await d.exited;
  await asyncClient.waitFor(/err ERR_TINYFILE_(DAEMON_GONE|NOT_RUNNING)/, 20_000);
  const sr = await syncClient.exited;
  expect(sr.status).toBe(3);
  expect(syncClient.stdout()).toMatch(/err ERR_TINYFILE_DAEMON_GONE: tinyd \(pid \d+\) at .* went away/);
  // The socket file is stale now; a new daemon replaces it and the client comes back.
  const d2 = await startDaemon(t.socket, ['--workers', '1']);
  await until(() => /err ERR_TINYFILE_\w+\nok\n/.test(asyncClient.stdout()), 30_000, 'the client to resume');
  await d2.waitFor(/client \d+ registered/);
});

test('garbage in a segment fails that request only; the daemon and other clients carry on', async () => {
  const d = await startDaemon(t.socket, ['--workers', '2']);
  const bystander = client('loop', t.socket, String(300_000));
  await bystander.waitFor('ready', 60_000);
  const h = client('hostile', t.socket);
  const r = await h.exited;
  expect({ status: r.status, out: h.stdout() }).toMatchObject({ status: 0, out: expect.stringContaining('ok after hostile') });
  const results = JSON.parse(/hostile (.*)/.exec(h.stdout())![1]!) as Array<{ failed: boolean; status: string }>;
  expect(results.every((x) => x.failed)).toBe(true);
  expect(results.slice(0, 4).map((x) => x.status)).toEqual(Array(4).fill('ERR_TINYFILE_BAD_REQUEST'));
  expect(results.slice(4).every((x) => /^ERR_TINYFILE_(CORRUPT_INPUT|BAD_CHECKSUM|WINDOW)$/.test(x.status))).toBe(true);
  expect(bystander.stdout()).not.toMatch(/err|FAIL/);
  expect(d.child.exitCode).toBeNull();
  expect((await status()).totals.failures).toBe(results.length);
});

test('SIGTERM finishes in-flight work, removes the socket and exits 0', async () => {
  const d = await startDaemon(t.socket, ['--workers', '1']);
  const c = client('loop', t.socket, String(1024 * 1024));
  await c.waitFor('ready', 60_000);
  killGroup(d.child, 'SIGTERM');
  const r = await d.exited;
  expect(r.status).toBe(0);
  expect(d.stderr()).toMatch(/SIGTERM received[\s\S]*stopped/);
  expect(fs.existsSync(t.socket)).toBe(false);
  await c.waitFor(/err ERR_TINYFILE_(DAEMON_GONE|NOT_RUNNING)/);
});
