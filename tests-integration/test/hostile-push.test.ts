// `shm-push receive` (the built bin) against a lying sender in its own process
// (fixtures/hostile-push/lying-sender.js, speaking the real push wire
// format): a sender that announces far more than it sends holds at most what
// it sent plus one reservation window of the disk (measured with statfs and
// st_blocks on a small ext4 file system of our own), sizes above --max-size
// are refused with TOO_LARGE, silent senders are dropped after the flag-set
// timeouts, connections past --max-connections get BUSY with a rate-limited
// log, and hostile names or symlinks cannot write outside the directory.
// After each, the same receiver still stores an honest push.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { spawnSync } from 'node:child_process';

import { bin, killAll, run, start, until, type Proc } from './helpers/proc';

const shmPush = bin('push', 'shm-push');
const liar = path.join(__dirname, 'fixtures', 'hostile-push', 'lying-sender.js');
const MiB = 1024 * 1024;
/** The receiver's reservation window (packages/push/src/limits.ts, RESERVE_WINDOW). */
const WINDOW = 16 * MiB;
const Status = { READY: 0, BAD_NAME: 18, TOO_LARGE: 19, EXISTS: 21, TIMEOUT: 24, BUSY: 26 } as const;

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-push-'));
});
afterEach(async () => {
  await killAll();
  fs.rmSync(base, { recursive: true, force: true });
});

function mkdir(name: string): string {
  const d = path.join(base, name);
  fs.mkdirSync(d);
  return d;
}

async function receiver(dir: string, ...extra: string[]): Promise<{ proc: Proc; host: string; port: number; dest: string }> {
  const proc = start([shmPush, 'receive', '--port', '0', '--dir', dir, ...extra]);
  const line = await proc.waitFor(/listening on \d+\.\d+\.\d+\.\d+:\d+/);
  const dest = line.slice('listening on '.length);
  const [host, port] = dest.split(':') as [string, string];
  return { proc, host, port: Number(port), dest };
}

interface LiarConfig {
  size: number;
  sendOnCue?: boolean;
  name?: string;
  nameHex?: string;
  headerBytes?: number;
  send?: number;
  then?: 'hold' | 'close';
}

/** Starts a lying sender against `r`; its stdin is open so the test can tell it to close. */
async function lie(r: { host: string; port: number }, cfg: LiarConfig): Promise<Proc> {
  const p = start([liar, JSON.stringify({ host: r.host, port: r.port, then: 'hold', ...cfg })], { stdio: ['pipe', 'pipe', 'pipe'] });
  await p.waitFor('connected');
  return p;
}

/** The reply statuses a lying sender printed, in order. */
function replies(p: Proc): { status: number; message: string }[] {
  return [...p.stdout().matchAll(/^reply (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { status: number; message: string });
}

/** A real `shm-push send` of a fresh random file; checks it is stored intact. */
async function honestPush(r: { dest: string }, dir: string, name = 'honest.bin'): Promise<void> {
  const data = crypto.randomBytes(3 * MiB + 5);
  const file = path.join(base, `src-${name}`);
  fs.writeFileSync(file, data);
  const s = await run([shmPush, 'send', '--quiet', '--name', name, file, r.dest]);
  expect(s.stderr).toBe('');
  expect(s.status).toBe(0);
  expect(fs.readFileSync(path.join(dir, name)).equals(data)).toBe(true);
}

/** Bytes the entries of `dir` occupy on disk (st_blocks, as du counts them). */
function du(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, e) => sum + fs.lstatSync(path.join(dir, e)).blocks * 512, 0);
}

/** Bytes in use on the file system holding `dir`. */
function used(dir: string): number {
  const s = fs.statfsSync(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

describe('disk: a sender announcing far more than it sends', () => {
  let mnt: string | undefined;
  let skip = '';
  beforeEach(() => {
    // A file system of our own, so that statfs sees only this test, and a
    // disk one (ext4): tmpfs is never reserved ahead, so it would prove nothing.
    mnt = path.join(base, 'disk');
    fs.mkdirSync(mnt);
    const image = path.join(base, 'disk.img');
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 512 * MiB);
    const mk = spawnSync('mkfs.ext4', ['-q', '-F', '-m', '0', image], { encoding: 'utf8' });
    const mount = mk.status === 0 ? spawnSync('mount', ['-o', 'loop', image, mnt], { encoding: 'utf8' }) : mk;
    if (mount.status !== 0) {
      skip = `cannot make and loop-mount a 512 MiB ext4 here (${(mount.stderr || mount.error?.message || '').trim()}; needs root and mkfs.ext4); disk-bound tests skipped`;
      mnt = undefined;
    }
  });
  afterEach(async () => {
    await killAll();
    if (mnt !== undefined) spawnSync('umount', ['-l', mnt]);
  });

  it('holds at most what it sent plus one window, and nothing once it goes away; the receiver keeps serving', async () => {
    if (mnt === undefined) return console.warn(skip);
    const inbox = path.join(mnt, 'inbox');
    fs.mkdirSync(inbox, { mode: 0o700 });
    const before = used(mnt);
    const r = await receiver(inbox);
    const announced = 300 * MiB; // fits the free space, so statfs lets it through
    const sent = MiB;
    const p = await lie(r, { size: announced, send: sent, then: 'hold' });
    await p.waitFor(`sent ${sent}`);
    // The receiver's progress line says how much it took in.
    await r.proc.waitFor(/liar\.bin from [\d.:]+: 0% \(1 MiB of 300 MiB\)/);
    expect(replies(p)).toEqual([{ status: Status.READY, message: '' }]);
    const parts = fs.readdirSync(inbox);
    expect(parts).toEqual([expect.stringMatching(/^\.rmmap-push-\d+-[0-9a-f]+\.part$/)]);
    expect(du(inbox)).toBeGreaterThanOrEqual(sent);
    expect(du(inbox)).toBeLessThanOrEqual(sent + WINDOW);
    // statfs of the whole file system agrees (plus a little ext4 metadata).
    expect(used(mnt) - before).toBeLessThanOrEqual(sent + WINDOW + MiB);

    p.child.stdin?.write('close\n');
    await p.exited;
    await r.proc.waitFor(/FAILED liar\.bin from [\d.:]+: ERR_RMMAP_PUSH_TRUNCATED: the sender closed the connection after 1048576 of 314572800 bytes/);
    expect(fs.readdirSync(inbox)).toEqual([]);
    await until(() => used(mnt!) - before <= 256 * 1024, 10_000, 'the partial file blocks to be freed');

    await honestPush(r, inbox);
    expect(r.proc.child.exitCode).toBeNull();
  });

  it('a disk that fills up after READY fails the push with NO_SPACE and leaves no partial file', async () => {
    if (mnt === undefined) return console.warn(skip);
    const inbox = path.join(mnt, 'inbox');
    fs.mkdirSync(inbox, { mode: 0o700 });
    const r = await receiver(inbox);
    const q = await lie(r, { size: 100 * MiB, send: 2 * MiB, sendOnCue: true, then: 'hold' });
    await q.waitFor('reply {"status":0'); // READY: statfs saw room for 100 MiB
    // Someone else takes all but a few MiB, less than one window.
    const free = fs.statfsSync(mnt).bavail * fs.statfsSync(mnt).bsize;
    const fa = spawnSync('fallocate', ['-l', String(free - 4 * MiB), path.join(mnt, 'filler')], { encoding: 'utf8' });
    expect(fa.stderr).toBe('');
    q.child.stdin?.write('send\n');
    await q.waitFor('peer-closed');
    expect(replies(q)).toEqual([{ status: Status.READY, message: '' }, expect.objectContaining({ status: 20, message: expect.stringContaining('full') })]);
    await r.proc.waitFor(/FAILED liar\.bin from [\d.:]+: ERR_RMMAP_PUSH_NO_SPACE/);
    expect(fs.readdirSync(inbox)).toEqual([]);
    expect(r.proc.child.exitCode).toBeNull();
  });

  it('cannot fill the disk by announcing sizes it never sends, even many at once', async () => {
    if (mnt === undefined) return console.warn(skip);
    const inbox = path.join(mnt, 'inbox');
    fs.mkdirSync(inbox, { mode: 0o700 });
    const before = used(mnt);
    const r = await receiver(inbox, '--max-connections', '4');
    // Four liars each announce 400 MiB of a 512 MiB disk: reserving what
    // they announce would need 1.6 GB.
    const ps = await Promise.all([0, 1, 2, 3].map(() => lie(r, { size: 400 * MiB, send: 64 * 1024, then: 'hold' })));
    await Promise.all(ps.map((p) => p.waitFor('sent 65536')));
    await until(() => fs.readdirSync(inbox).length === 4, 10_000, 'four partial files');
    expect(used(mnt) - before).toBeLessThanOrEqual(4 * (64 * 1024 + WINDOW) + MiB);
    for (const p of ps) p.child.stdin?.write('close\n');
    await Promise.all(ps.map((p) => p.exited));
    await until(() => fs.readdirSync(inbox).length === 0, 10_000, 'the partial files to be removed');
    await honestPush(r, inbox);
  });
});

describe('--max-size', () => {
  it('refuses a size above --max-size with TOO_LARGE before creating anything, and logs it', async () => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox, '--max-size', '100M');
    const p = await lie(r, { size: 100 * MiB + 1, send: MiB });
    await p.waitFor('peer-closed');
    const [reply, ...more] = replies(p);
    expect(more).toEqual([]);
    expect(reply).toMatchObject({ status: Status.TOO_LARGE });
    expect(reply!.message).toMatch(/104857601 bytes; this receiver accepts at most 104857600 \(--max-size\)/);
    await r.proc.waitFor(/FAILED \(no name yet\) from 127\.0\.0\.1:\d+: ERR_RMMAP_PUSH_TOO_LARGE: the file is 104857601 bytes/);
    expect(fs.readdirSync(inbox)).toEqual([]);
    await honestPush(r, inbox);
  });

  it('refuses 1 TiB under the default limit (64 GiB), which the startup line names', async () => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox);
    await r.proc.waitFor('limits: files up to 64 GiB');
    const p = await lie(r, { size: 1024 ** 4 });
    await p.waitFor('peer-closed');
    expect(replies(p)).toEqual([expect.objectContaining({ status: Status.TOO_LARGE, message: expect.stringContaining('at most 68719476736 (--max-size)') })]);
    await r.proc.waitFor('ERR_RMMAP_PUSH_TOO_LARGE');
    expect(fs.readdirSync(inbox)).toEqual([]);
  });
});

describe('timeouts', () => {
  it('drops a sender stuck in its header and one silent mid-data after the flag-set timeouts', async () => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox, '--handshake-timeout', '300ms', '--idle-timeout', '300ms');
    await r.proc.waitFor('header within 300 ms, idle senders dropped after 300 ms');
    const halfHeader = await lie(r, { size: 10, headerBytes: 9 });
    const silent = await lie(r, { size: 10 * MiB, send: 64 * 1024, then: 'hold' });
    // Each is dropped by the receiver: neither closes on its own.
    await halfHeader.waitFor('peer-closed');
    await silent.waitFor('peer-closed');
    expect(replies(halfHeader)).toEqual([expect.objectContaining({ status: Status.TIMEOUT, message: expect.stringContaining('--handshake-timeout') })]);
    expect(replies(silent)).toEqual([
      { status: Status.READY, message: '' },
      expect.objectContaining({ status: Status.TIMEOUT, message: expect.stringContaining('--idle-timeout') }),
    ]);
    // Both failures are ERR_RMMAP_PUSH_TIMEOUT from one client: the log may
    // hold the second back (one line per client and kind per second).
    await r.proc.waitFor(/FAILED .* from 127\.0\.0\.1:\d+: ERR_RMMAP_PUSH_TIMEOUT: the sender sent nothing for too long/);
    expect(fs.readdirSync(inbox)).toEqual([]);
    await honestPush(r, inbox);
  });
});

describe('--max-connections', () => {
  /** Connects, reads one reply, closes; resolves with the status (or -1 if closed without one). */
  function knock(r: { host: string; port: number }): Promise<number> {
    return new Promise((resolve) => {
      const s = net.connect({ host: r.host, port: r.port });
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 8) {
          s.destroy();
          resolve(got.readUInt8(4));
        }
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve(-1));
    });
  }

  it('turns connections past the cap away with BUSY, logs them at most once a second per client with a count', async () => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox, '--max-connections', '2', '--handshake-timeout', '60s');
    const holders = await Promise.all([lie(r, { size: 10, headerBytes: 4 }), lie(r, { size: 10, headerBytes: 4 })]);
    // Both connected before any knock, and connections are accepted in
    // order, so both hold a slot by the time the first knock is accepted.
    const flood = 40;
    const statuses: number[] = [];
    for (let i = 0; i < flood; i++) statuses.push(await knock(r));
    expect(statuses.every((s) => s === Status.BUSY)).toBe(true);
    const refusedLines = () => r.proc.stderr().split('\n').filter((l) => l.includes('refused a connection from 127.0.0.1'));
    // One client, one kind: far fewer lines than refusals.
    expect(refusedLines().length).toBeGreaterThanOrEqual(1);
    expect(refusedLines().length).toBeLessThan(flood);
    expect(refusedLines()[0]).toMatch(/ERR_RMMAP_PUSH_BUSY: the receiver is busy \(2 transfers at once, --max-connections\)/);
    // Knocking on, the next line that gets through says how many were held back.
    const deadline = Date.now() + 10_000;
    while (!/similar suppressed/.test(r.proc.stderr()) && Date.now() < deadline) await knock(r);
    expect(r.proc.stderr()).toMatch(/refused a connection from 127\.0\.0\.1:\d+: ERR_RMMAP_PUSH_BUSY: .* \(\d+ similar suppressed\)/);
    for (const h of holders) h.child.stdin?.write('close\n');
    await Promise.all(holders.map((h) => h.exited));
    await until(() => r.proc.stderr().split('ERR_RMMAP_PUSH_TRUNCATED').length - 1 >= 1, 10_000, 'the holders to be reported');
    await honestPush(r, inbox);
  });
});

describe('names from the sender', () => {
  it.each([
    ['..', '..'],
    ['../escape', '../escape'],
    ['an absolute path', 'ABSOLUTE'],
    ['a path', 'sub/file'],
    ['NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
  ])('a name with %s is refused with BAD_NAME and nothing is written', async (_what, given) => {
    const inbox = mkdir('inbox');
    // An absolute path into our own directory, so that nothing else can have put a file there.
    const name = given === 'ABSOLUTE' ? path.join(base, 'abs') : given;
    const r = await receiver(inbox);
    const p = await lie(r, { size: 4, name, send: 4 });
    await p.waitFor('peer-closed');
    expect(replies(p)).toEqual([expect.objectContaining({ status: Status.BAD_NAME, message: expect.stringContaining('refusing file name') })]);
    await r.proc.waitFor('ERR_RMMAP_PUSH_BAD_NAME');
    expect(fs.readdirSync(inbox)).toEqual([]);
    expect(fs.readdirSync(base).sort()).toEqual(['inbox']);
  });

  it('a name that is not UTF-8 is refused with BAD_NAME', async () => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox);
    const p = await lie(r, { size: 4, nameHex: '2e2eff2f', send: 4 });
    await p.waitFor('peer-closed');
    expect(replies(p)).toEqual([expect.objectContaining({ status: Status.BAD_NAME, message: expect.stringContaining('not valid UTF-8') })]);
    expect(fs.readdirSync(inbox)).toEqual([]);
  });

  /** DIR/link → OUTSIDE/target (an existing file) and DIR/dangling → OUTSIDE/new (none). */
  function symlinks(inbox: string): { target: string; absent: string } {
    const outside = mkdir('outside');
    const target = path.join(outside, 'target');
    fs.writeFileSync(target, 'keep');
    const absent = path.join(outside, 'new');
    fs.symlinkSync(target, path.join(inbox, 'link'));
    fs.symlinkSync(absent, path.join(inbox, 'dangling'));
    return { target, absent };
  }

  async function push(r: { dest: string }, name: string): Promise<{ status: number; stderr: string; data: Buffer }> {
    const data = crypto.randomBytes(100_000);
    const file = path.join(base, `src-${name}`);
    fs.writeFileSync(file, data);
    const s = await run([shmPush, 'send', '--quiet', '--name', name, file, r.dest]);
    return { status: s.status, stderr: s.stderr, data };
  }

  it('a symlink at the destination is never written through: refused with EXISTS', async () => {
    const inbox = mkdir('inbox');
    const { target, absent } = symlinks(inbox);
    const r = await receiver(inbox);
    for (const name of ['link', 'dangling']) {
      const s = await push(r, name);
      expect(s.status).toBe(1);
      expect(s.stderr).toContain('ERR_RMMAP_PUSH_EXISTS');
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
    expect(fs.existsSync(absent)).toBe(false);
    expect(fs.lstatSync(path.join(inbox, 'link')).isSymbolicLink()).toBe(true);
    expect(fs.readdirSync(inbox).sort()).toEqual(['dangling', 'link']);
  });

  it('with --overwrite a symlink at the destination is replaced by the file, never followed', async () => {
    const inbox = mkdir('inbox');
    const { target, absent } = symlinks(inbox);
    const r = await receiver(inbox, '--overwrite');
    for (const name of ['link', 'dangling']) {
      const s = await push(r, name);
      expect(s.stderr).toBe('');
      expect(s.status).toBe(0);
      const st = fs.lstatSync(path.join(inbox, name));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(inbox, name)).equals(s.data)).toBe(true);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
    expect(fs.existsSync(absent)).toBe(false);
    expect(fs.readdirSync(path.dirname(target)).sort()).toEqual(['target']);
  });
});
