// shm-push send / shm-push receive as real processes: a 256 MiB push to three
// receivers, a receiver killed with SIGKILL mid-transfer, a corrupting peer,
// hostile names and usage errors. Runs the built bin (packages/push/dist/bin/shm-push.js).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { spawnSync } from 'node:child_process';

import { bin, killAll, run, start, until, type Proc } from './helpers/proc';
import { loadXxhashRef, type XxhashRef } from './helpers/xxhash-ref';

const shmPush = bin('push', 'shm-push');
const MiB = 1024 * 1024;

let base: string;
afterEach(killAll);
beforeEach(() => {
  // tmpfs when there is one: the test is about the protocol, not the disk.
  base = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'rmmap-push-it-'));
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

function mkdir(name: string): string {
  const d = path.join(base, name);
  fs.mkdirSync(d);
  return d;
}

// XXH64 (the push's default checksum) from another implementation than rmmap's.
let createXxh64: XxhashRef['create64'];
beforeAll(async () => {
  createXxh64 = (await loadXxhashRef()).create64;
});

/** A file of random bytes; returns its path, sha256 and xxh64 (hex). */
function randomFile(name: string, bytes: number): { file: string; sha: string; xxh: string } {
  const file = path.join(base, name);
  const fd = fs.openSync(file, 'w', 0o600);
  const h = crypto.createHash('sha256');
  const x = createXxh64();
  for (let at = 0; at < bytes; at += 8 * MiB) {
    const chunk = crypto.randomBytes(Math.min(8 * MiB, bytes - at));
    h.update(chunk);
    x.update(chunk);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  return { file, sha: h.digest('hex'), xxh: x.digest().toString(16).padStart(16, '0') };
}

function sha256(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 * MiB);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

async function receiver(dir: string, ...extra: string[]): Promise<{ proc: Proc; dest: string }> {
  const proc = start([shmPush, 'receive', '--port', '0', '--dir', dir, ...extra]);
  const line = await proc.waitFor(/listening on \d+\.\d+\.\d+\.\d+:\d+/);
  return { proc, dest: line.slice('listening on '.length) };
}

describe('shm-push send → 3 × shm-push receive', () => {
  it('delivers 256 MiB to three receivers with identical checksums', async () => {
    const src = randomFile('payload.bin', 256 * MiB);
    const rs = await Promise.all(['a', 'b', 'c'].map((n) => receiver(mkdir(n))));
    // The default checksum, xxh64, computed inline at both ends.
    const r = await run([shmPush, 'send', src.file, ...rs.map((x) => x.dest)], { timeoutMs: 100_000 });
    expect(r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
    for (const { proc, dest } of rs) {
      expect(r.stdout).toContain(`stored payload.bin (256 MiB, xxh64:${src.xxh}) on ${dest}`);
      await proc.waitFor(`stored payload.bin (256 MiB, xxh64:${src.xxh})`);
    }
    for (const n of ['a', 'b', 'c']) {
      const stored = path.join(base, n, 'payload.bin');
      expect(sha256(stored)).toBe(src.sha);
      expect(fs.statSync(stored).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(path.join(base, n))).toEqual(['payload.bin']);
    }
  });
});

const haveXxhsum = spawnSync('xxhsum', ['--version'], { stdio: 'ignore' }).status === 0;
if (!haveXxhsum) {
  // Loud, not silent: CI installs it (.ci/run); a machine without it says so.
  console.warn('xxhsum is missing: apt-get install xxhash to run the xxhsum interop test');
}

describe('the digest against xxhsum (Debian xxhash)', () => {
  (haveXxhsum ? it : it.skip)('shm-push send prints, and the receiver stores under, the digest xxhsum -H1 prints', async () => {
    // Not a multiple of the 32-byte stripe: the hash's tail handling counts too.
    const src = randomFile('odd.bin', 5 * MiB + 29);
    const dir = mkdir('in');
    const { dest } = await receiver(dir);
    const r = await run([shmPush, 'send', src.file, dest], { timeoutMs: 30_000 });
    expect(r.status).toBe(0);
    const theirs = (file: string) => /^([0-9a-f]{16})\s/.exec(spawnSync('xxhsum', ['-H1', file], { encoding: 'utf8' }).stdout)?.[1];
    expect(theirs(src.file)).toBe(src.xxh);
    expect(r.stdout).toContain(`xxh64:${theirs(path.join(dir, 'odd.bin'))}`);
  });
});

describe('faults', () => {
  it('a receiver killed with SIGKILL mid-transfer fails alone, by name; the others verify', async () => {
    const src = randomFile('payload.bin', 256 * MiB);
    const dirs = ['a', 'victim', 'c'].map(mkdir);
    const rs = await Promise.all(dirs.map((d) => receiver(d)));
    const victim = rs[1]!;
    // sha256 here, so the hashing threads at both ends meet a dying peer too.
    const sender = start([shmPush, 'send', '--checksum', 'sha256', src.file, ...rs.map((x) => x.dest)]);
    await victim.proc.waitFor('receiving payload.bin');
    // Data has started landing in the victim's partial file.
    const part = () => fs.readdirSync(dirs[1]!).find((f) => f.endsWith('.part'));
    await until(() => {
      const p = part();
      return p !== undefined && fs.statSync(path.join(dirs[1]!, p)).size > 0;
    }, 20_000, 'the victim to start writing');
    victim.proc.child.kill('SIGKILL');
    const done = await sender.exited;
    expect(done.status).toBe(1);
    expect(sender.stderr()).toContain(`FAILED ${victim.dest}`);
    expect(sender.stderr()).toContain(`1 of 3 receivers failed: ${victim.dest}`);
    expect(sender.stderr()).not.toMatch(/\n\s+at /);
    for (const i of [0, 2]) {
      expect(sender.stdout()).toContain(`sha256:${src.sha}) on ${rs[i]!.dest}`);
      expect(sha256(path.join(dirs[i]!, 'payload.bin'))).toBe(src.sha);
    }
    // Never a partial file under the final name.
    expect(fs.readdirSync(dirs[1]!)).not.toContain('payload.bin');
    // A new receiver on that directory removes what the dead one left.
    const again = await receiver(dirs[1]!);
    expect(fs.readdirSync(dirs[1]!)).toEqual([]);
    const retry = await run([shmPush, 'send', '-q', src.file, again.dest], { timeoutMs: 60_000 });
    expect(retry.status).toBe(0);
    expect(sha256(path.join(dirs[1]!, 'payload.bin'))).toBe(src.sha);
  });

  it('a corrupting peer is caught by the checksum: no file, named failure, receiver stays up', async () => {
    const src = randomFile('payload.bin', 16 * MiB);
    const good = await receiver(mkdir('good'));
    const behind = await receiver(mkdir('behind'));
    // A TCP proxy that flips one bit of the data 5 MiB into the stream.
    const [bhost, bport] = behind.dest.split(':') as [string, string];
    const proxy = net.createServer((client) => {
      const upstream = net.connect({ host: bhost, port: Number(bport) });
      let seen = 0;
      client.on('data', (chunk: Buffer) => {
        const at = 5 * MiB - seen;
        if (at >= 0 && at < chunk.length) chunk[at] = (chunk[at] ?? 0) ^ 0x01;
        seen += chunk.length;
        upstream.write(chunk);
      });
      client.on('end', () => upstream.end());
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyDest = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const r = await run([shmPush, 'send', src.file, good.dest, proxyDest], { timeoutMs: 60_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`FAILED ${proxyDest}: ERR_RMMAP_PUSH_CHECKSUM_MISMATCH`);
      expect(r.stderr).toContain(`1 of 2 receivers failed: ${proxyDest}`);
      await behind.proc.waitFor('ERR_RMMAP_PUSH_CHECKSUM_MISMATCH');
      expect(fs.readdirSync(path.join(base, 'behind'))).toEqual([]);
      expect(sha256(path.join(base, 'good', 'payload.bin'))).toBe(src.sha);
      // Still serving: a direct push now succeeds.
      const direct = await run([shmPush, 'send', '-q', src.file, behind.dest], { timeoutMs: 60_000 });
      expect(direct.status).toBe(0);
      expect(sha256(path.join(base, 'behind', 'payload.bin'))).toBe(src.sha);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('a full disk', () => {
  let mnt: string | undefined;
  let skip = '';
  beforeEach(() => {
    mnt = path.join(base, 'small');
    fs.mkdirSync(mnt);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt], { encoding: 'utf8' });
    if (r.status !== 0) {
      skip = `cannot mount a 2 MiB tmpfs here (${(r.stderr || r.error?.message || '').trim()}); full-disk tests skipped`;
      mnt = undefined;
    }
  });
  afterEach(() => {
    // Lazy: a receiver still running (killed after this hook) may hold a file there.
    if (mnt !== undefined) spawnSync('umount', ['-l', mnt]);
  });

  it('refuses a file larger than the free space before any data moves', async () => {
    if (mnt === undefined) return console.warn(skip);
    const src = randomFile('big.bin', 4 * MiB);
    const r = await receiver(mnt);
    const s = await run([shmPush, 'send', src.file, r.dest]);
    expect(s.status).toBe(1);
    expect(s.stderr).toContain('ERR_RMMAP_PUSH_NO_SPACE');
    expect(s.stderr).toMatch(/has only \d+ bytes free/);
    expect(fs.readdirSync(mnt)).toEqual([]);
  });

  it('reports ENOSPC during the transfer as NO_SPACE and removes the partial file', async () => {
    if (mnt === undefined) return console.warn(skip);
    const r = await receiver(mnt);
    const [host, port] = r.dest.split(':') as [string, string];
    const s = net.connect({ host, port: Number(port) });
    await new Promise((resolve) => s.once('connect', resolve));
    let got = Buffer.alloc(0);
    const replies: Buffer[] = [];
    const next = () =>
      new Promise<Buffer>((resolve) => {
        const check = () => {
          if (got.length >= 8 && got.length >= 8 + got.readUInt16BE(6)) {
            const len = 8 + got.readUInt16BE(6);
            const one = got.subarray(0, len);
            got = got.subarray(len);
            s.off('data', onData);
            resolve(one);
          }
        };
        const onData = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          check();
        };
        s.on('data', onData);
        check();
      });
    s.on('error', () => undefined);
    const size = 1536 * 1024;
    const h = Buffer.alloc(20 + 8);
    h.write('RMPS', 0, 'latin1');
    h.writeUInt16BE(1, 4);
    h.writeUInt8(1, 6);
    h.writeUInt8(8, 7);
    h.writeBigUInt64BE(BigInt(size), 8);
    h.write('fill.bin', 20);
    s.write(h);
    replies.push(await next());
    expect(replies[0]!.readUInt8(4)).toBe(0); // READY: statfs saw room
    // Someone else fills the disk before our data arrives.
    try {
      fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(2 * MiB));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    s.write(crypto.randomBytes(size));
    const verdict = await next();
    expect(verdict.readUInt8(4)).toBe(20); // NO_SPACE
    expect(verdict.toString('utf8', 8)).toContain('full');
    s.destroy();
    await r.proc.waitFor('ERR_RMMAP_PUSH_NO_SPACE');
    expect(fs.readdirSync(mnt)).toEqual(['filler']);
    expect(r.proc.child.exitCode).toBeNull();
  });
});

describe('hostile names', () => {
  /** A push header by hand (docs/PUSH.md): RMPS, version 1, sha256, name length, size, no token, reserved. */
  function header(name: string, size: number): Buffer {
    const n = Buffer.from(name);
    const b = Buffer.alloc(20 + n.length);
    b.write('RMPS', 0, 'latin1');
    b.writeUInt16BE(1, 4);
    b.writeUInt8(1, 6);
    b.writeUInt8(n.length, 7);
    b.writeBigUInt64BE(BigInt(size), 8);
    n.copy(b, 20);
    return b;
  }

  it.each(['../escaped', '/tmp/abs', '..', 'sub/dir'])('a raw sender naming %j is refused and nothing is written', async (name) => {
    const inbox = mkdir('inbox');
    const r = await receiver(inbox);
    const [host, port] = r.dest.split(':') as [string, string];
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ host, port: Number(port) }, () => s.write(header(name, 4)));
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 8 && got.length >= 8 + got.readUInt16BE(6)) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    expect(reply.toString('latin1', 0, 4)).toBe('RMPR');
    expect(reply.readUInt8(4)).toBe(18); // BAD_NAME
    expect(reply.toString('utf8', 8)).toContain('refusing file name');
    await r.proc.waitFor('ERR_RMMAP_PUSH_BAD_NAME');
    expect(fs.readdirSync(inbox)).toEqual([]);
    expect(fs.readdirSync(base).sort()).toEqual(['inbox']);
    expect(r.proc.child.exitCode).toBeNull();
  });

  it('shm-push send exits once the push is done: its idle sender thread does not hold the process', async () => {
    const src = randomFile('small.bin', 4096);
    const r = await receiver(mkdir('idle'));
    // An hour of idle time: a thread that kept the process alive would hold it past the 30 s kill.
    const sent = await run([shmPush, 'send', src.file, r.dest], { timeoutMs: 30_000, env: { ...process.env, RMMAP_SENDER_IDLE_MS: '3600000' } });
    expect(sent.status).toBe(0);
    expect(sent.stdout).toContain('stored small.bin');
  });

  it('shm-push send --name with a path is a usage error', async () => {
    const src = randomFile('x', 10);
    const r = await run([shmPush, 'send', '--name', '../x', src.file, '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot push under the name "../x"');
  });
});

describe('tokens', () => {
  it('a receiver started with --token-file accepts only senders with the same token', async () => {
    const src = randomFile('payload.bin', 1 * MiB);
    const tokenFile = path.join(base, 'token');
    fs.writeFileSync(tokenFile, 'correct horse battery staple\n', { mode: 0o600 });
    const wrongFile = path.join(base, 'wrong');
    fs.writeFileSync(wrongFile, 'correct horse battery stapler\n', { mode: 0o600 });
    const inbox = mkdir('inbox');
    const r = await receiver(inbox, '--token-file', tokenFile);
    const none = await run([shmPush, 'send', src.file, r.dest]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('ERR_RMMAP_PUSH_UNAUTHORIZED');
    const wrong = await run([shmPush, 'send', '--token-file', wrongFile, src.file, r.dest]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('ERR_RMMAP_PUSH_UNAUTHORIZED');
    expect(fs.readdirSync(inbox)).toEqual([]);
    const right = await run([shmPush, 'send', '--token-file', tokenFile, src.file, r.dest]);
    expect(right.status).toBe(0);
    expect(sha256(path.join(inbox, 'payload.bin'))).toBe(src.sha);
  });
});

describe('usage and user errors', () => {
  it.each([
    [[], 'missing command'],
    [['send', 'only-a-file'], 'missing HOST:PORT'],
    [['send', 'f', 'host-without-port'], 'invalid destination'],
    [['receive', '--dir', '.'], '--port is required'],
    [['receive', '--port', '1'], '--dir is required'],
    [['receive', '--port', '1', '--dir', '.', '--bogus'], 'unknown option --bogus'],
  ])('%j → exit 2 with the reason and a pointer to --help', async (argv, message) => {
    const r = await run([shmPush, ...argv]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("Try 'shm-push --help'.");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help and --version exit 0', async () => {
    expect((await run([shmPush, '--help'])).stdout).toContain('shm-push send');
    const v = await run([shmPush, '--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^shm-push \d+\.\d+\.\d+/);
  });

  it('a missing file or directory exits 1 with a message, not a stack', async () => {
    const s = await run([shmPush, 'send', path.join(base, 'nope'), '127.0.0.1:9']);
    expect(s.status).toBe(1);
    expect(s.stderr).toContain('ENOENT');
    expect(s.stderr).not.toMatch(/\n\s+at /);
    const r = await run([shmPush, 'receive', '--port', '0', '--dir', path.join(base, 'nope')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('create it first');
  });
});
