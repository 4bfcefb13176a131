// tinyd against hostile local clients, each a real process speaking the real
// protocol or writing the real shared memory: a client that shrinks its
// channel memfd, one that writes its request queue's words, a directory or a
// daemon of another user, half-sent handshakes and connection floods. An
// honest client is served throughout.
import fs from 'node:fs';
import path from 'node:path';

import { killGroup, run, start } from './helpers/proc';
import { startDaemon, tempDir, tinyd, tinyfileCli, useTempSocket } from './tinyfile-helpers';

const fixtures = path.join(__dirname, 'fixtures', 'hostile-tinyfile');
const hostileFixture = path.join(fixtures, 'hostile-client.js');
const honestFixture = path.join(fixtures, 'honest-client.js');
const fakeDaemonFixture = path.join(fixtures, 'fake-daemon.js');
const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;

const t = useTempSocket();

function hostile(...args: string[]) {
  return start([hostileFixture, ...args]);
}

async function honestRoundTrip(socket: string, ...args: string[]): Promise<string> {
  const r = await run([honestFixture, 'connect', socket, ...args], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

/** SIGTERM, and the exit status tinyd gives (the test's timeout is the hang guard). */
async function terminate(d: ReturnType<typeof start>) {
  killGroup(d.child, 'SIGTERM');
  return d.exited;
}

test('a client that shrinks its channel memfd cannot: the memfd is sealed, tinyd stays up and serves everybody', async () => {
  const d = await startDaemon(t.socket, ['--workers', '1']);
  const h = hostile('shrink', t.socket);
  expect((await h.exited).status).toBe(0);
  expect(h.stdout()).toMatch(/^shrink refused EPERM\n/);
  // Its request was served like any other, and nobody else noticed.
  expect(h.stdout()).toMatch(/answered OK/);
  expect(d.child.exitCode).toBeNull();
  expect(await honestRoundTrip(t.socket)).toBe('ok');
  expect((await terminate(d)).status).toBe(0);
});

describe.each(['wrap', 'full'])('a client that writes its request queue tail (%s)', (variant) => {
  test('is dropped; others are served, SIGTERM stops tinyd, the log stays small', async () => {
    const d = await startDaemon(t.socket, ['--workers', '1']);
    const h = hostile('queue-word', t.socket, variant);
    await h.waitFor('corrupted');
    expect((await h.exited).status).toBe(0);
    expect(h.stdout()).toMatch(/dropped/);
    await d.waitFor(/client \d+ \(pid \d+\): .*; disconnecting it/);
    expect(await honestRoundTrip(t.socket)).toBe('ok');
    const r = await terminate(d);
    expect(r.status).toBe(0);
    expect(d.stderr()).toMatch(/SIGTERM received[\s\S]*stopped/);
    expect(d.stderr().length).toBeLessThan(4096);
  });
});

describe('the default socket directory', () => {
  // tinyd without --socket: $XDG_RUNTIME_DIR/tinyfile/tinyd.sock.
  async function startDefault(xdg: string) {
    return run([tinyd, '--workers', '0'], { env: { ...process.env, XDG_RUNTIME_DIR: xdg }, timeoutMs: 30_000 });
  }

  test('is created 0700 and used when it is ours', async () => {
    const d = start([tinyd, '--workers', '0'], { env: { ...process.env, XDG_RUNTIME_DIR: t.dir } });
    await d.waitFor(/listening on/);
    const dir = path.join(t.dir, 'tinyfile');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(dir, 'tinyd.sock'))).toBe(true);
    expect((await terminate(d)).status).toBe(0);
  });

  test('owned by another user is refused with ERR_SHM_UNSAFE_PATH', async () => {
    if (!isRoot) return console.warn('skipped: needs root to make a directory of another uid');
    const dir = path.join(t.dir, 'tinyfile');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, NOBODY, NOBODY);
    const r = await startDefault(t.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`directory .*tinyfile .*owned by uid ${NOBODY}.*\\(ERR_SHM_UNSAFE_PATH\\)`));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('with group or other access is refused with ERR_SHM_UNSAFE_PATH', async () => {
    const dir = path.join(t.dir, 'tinyfile');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o755);
    const r = await startDefault(t.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/directory .*tinyfile .*mode 0755.*\(ERR_SHM_UNSAFE_PATH\)/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('an explicit --socket in a directory others can write and that is not sticky is refused', async () => {
    const dir = path.join(t.dir, 'open');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o777);
    const r = await run([tinyd, '--workers', '0', '--socket', path.join(dir, 'tinyd.sock')], { timeoutMs: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/writable by other users and not sticky.*\(ERR_SHM_UNSAFE_PATH\)/);
  });
});

describe('a daemon of another user at the socket path', () => {
  async function fakeDaemon() {
    // The fake (uid 65534) needs a directory of its own that it can reach.
    fs.chmodSync(t.dir, 0o711);
    const dir = path.join(t.dir, 'other');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, NOBODY, NOBODY);
    const socket = path.join(dir, 'tinyd.sock');
    const fake = start(['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, fakeDaemonFixture, socket], { cmd: 'setpriv' });
    await fake.waitFor(`listening as uid ${NOBODY}`);
    return { fake, socket };
  }

  test('is refused by the client before it sends a byte', async () => {
    if (!isRoot) return console.warn('skipped: needs root to run a process as uid 65534');
    const { fake, socket } = await fakeDaemon();
    const out = await honestRoundTrip(socket);
    expect(out).toMatch(new RegExp(`^err ERR_TINYFILE_UNTRUSTED_DAEMON .* runs as uid ${NOBODY}, not as this user \\(uid 0\\) or root; nothing was sent\\. .*daemonUid: ${NOBODY}`));
    await fake.waitFor('received');
    expect(fake.stdout()).toMatch(/^listening as uid 65534\nreceived 0\n$/);
    // The CLI refuses it the same way, status included.
    const s = await run([tinyfileCli, '--socket', socket, 'status'], { timeoutMs: 30_000 });
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/runs as uid 65534, not as this user .*--daemon-uid 65534/);
    await fake.waitFor(/received 0\n.*received 0\n/s);
  });

  test('a daemon running as root is trusted (root can read every process anyway; socket activation makes it the listener)', async () => {
    if (!isRoot) return console.warn('skipped: needs root to run the client as uid 65534');
    fs.chmodSync(t.dir, 0o711);
    const dir = path.join(t.dir, 'root-daemon');
    fs.mkdirSync(dir, { mode: 0o711 });
    const socket = path.join(dir, 'tinyd.sock');
    const fake = start([fakeDaemonFixture, socket]);
    await fake.waitFor('listening as uid 0');
    // The client, as uid 65534, sends its hello: the fake never answers it, so the client gives up (BUSY).
    const r = await run(['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, honestFixture, 'connect', socket], { cmd: 'setpriv', timeoutMs: 30_000 });
    expect(r.stdout.trim()).toMatch(/^err ERR_TINYFILE_BUSY/);
    await fake.waitFor('received 16');
  });

  test('is talked to when the user names its uid (daemonUid / TINYFILE_DAEMON_UID)', async () => {
    if (!isRoot) return console.warn('skipped: needs root to run a process as uid 65534');
    const { fake, socket } = await fakeDaemon();
    // The fake never answers the hello: the client gives up after its connect timeout.
    expect(await honestRoundTrip(socket, String(NOBODY))).toMatch(/^err ERR_TINYFILE_BUSY/);
    await fake.waitFor('received 16');
    const s = await run([tinyfileCli, '--socket', socket, 'status'], { env: { ...process.env, TINYFILE_DAEMON_UID: String(NOBODY) }, timeoutMs: 30_000 });
    expect(s.stderr).not.toMatch(/UNTRUSTED|runs as uid/);
    await fake.waitFor(/received 16\n.*received 16\n/s);
  });
});

test('a client refuses a channel memfd that is not sealed against resizing (ERR_TINYFILE_PROTOCOL)', async () => {
  const fake = start([path.join(fixtures, 'unsealed-daemon.js'), t.socket]);
  await fake.waitFor('listening');
  expect(await honestRoundTrip(t.socket)).toMatch(/^err ERR_TINYFILE_PROTOCOL the channel memfd is not sealed against resizing/);
  await fake.waitFor('welcomed 1');
});

test('a half-sent handshake is closed after --handshake-timeout-ms, with one log line', async () => {
  const d = await startDaemon(t.socket, ['--workers', '0', '--handshake-timeout-ms', '300']);
  const halves = [hostile('half', t.socket, '5'), hostile('half', t.socket, '0')];
  for (const h of halves) {
    expect((await h.exited).status).toBe(0);
    expect(h.stdout()).toMatch(/^closed after \d+ ms\n$/);
  }
  expect(d.stderr()).toMatch(/closed a connection from pid \d+: no complete hello within 300 ms/);
  expect(await honestRoundTrip(t.socket)).toBe('ok');
  expect(d.child.exitCode).toBeNull();
});

test('a connection flood is capped at --max-connections: the rest are refused (ERR_TINYFILE_BUSY to a client) and logged once a second', async () => {
  const d = await startDaemon(t.socket, ['--workers', '0', '--max-connections', '4', '--handshake-timeout-ms', '60000']);
  const f = hostile('flood', t.socket, '40');
  await f.waitFor('flood open=40');
  await f.waitFor('closed 36\n');
  // While the flood holds every connection, an honest client is told why.
  expect(await honestRoundTrip(t.socket)).toMatch(/^err ERR_TINYFILE_BUSY .*limit \(--max-connections 4\)/);
  const refusals = d.stderr().match(/refused a connection: \d+ connections are open/g) ?? [];
  expect(refusals.length).toBeGreaterThanOrEqual(1);
  expect(refusals.length).toBeLessThanOrEqual(3);
  // Once the flood is gone, so is the cap.
  killGroup(f.child, 'SIGKILL');
  await f.exited;
  expect(await honestRoundTrip(t.socket)).toBe('ok');
});

test('tinyd refuses impossible limits', async () => {
  const dir = tempDir();
  try {
    const r = await run([tinyd, '--socket', path.join(dir, 's.sock'), '--max-connections', '0'], { timeoutMs: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--max-connections must be an integer in \[1, 65536\], got 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
