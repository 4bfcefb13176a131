// What a lying or stalling sender can make a PushReceiver hold: disk (only
// what arrived plus one reservation window), time (handshake and idle
// timeouts), connections (maxConcurrent, then BUSY) and log lines (one per
// client per kind per second). Real sockets, threads and files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PushReceiver, PushStatus, type FailedEvent, type RefusedEvent } from '../src';
import { main } from '../src/cli';
import { DEFAULT_MAX_SIZE, RESERVE_WINDOW } from '../src/limits';
import { clientOf, ReceiveLog } from '../src/receive-log';
import { encodeHeader } from '../src/wire';
import { rawPushSender, until } from './helpers/raw-push-sender';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
let base: string;
const receivers: PushReceiver[] = [];

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-push-limits-'));
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close(1000)));
  fs.rmSync(base, { recursive: true, force: true });
});

async function receiver(options: Omit<Parameters<typeof PushReceiver.listen>[0], 'dir'> = {}): Promise<PushReceiver> {
  const dir = fs.mkdtempSync(path.join(base, 'in-'));
  const r = await PushReceiver.listen({ dir, ...options });
  receivers.push(r);
  return r;
}

const nextFailure = (r: PushReceiver) => new Promise<FailedEvent>((resolve) => r.once('failed', resolve));

/** Bytes the file system holds for a file (st_blocks counts 512-byte units). */
const allocated = (file: string) => fs.statSync(file).blocks * 512;

describe('disk: reserved for what arrived, not for what was announced', () => {
  it.each([
    ['xxh64 (read into the hash window)', 3],
    ['sha256 (spliced, hashed by a thread)', 1],
  ] as const)('%s: a sender announcing 4 GiB and sending 1 MiB holds at most 1 MiB + one window, then nothing', async (_how, checksum) => {
    const r = await receiver();
    if (fs.statfsSync(r.dir).type === TMPFS_MAGIC) {
      // tmpfs never reserves ahead; the bound is trivially true there and proves nothing.
      return console.warn(`${os.tmpdir()} is tmpfs: the reservation test needs a disk file system; skipped`);
    }
    const announced = 4 * 1024 * MiB;
    if (fs.statfsSync(r.dir).bavail * fs.statfsSync(r.dir).bsize < announced) {
      return console.warn(`${os.tmpdir()} has less than 4 GiB free: the announced size would be refused up front; skipped`);
    }
    const failed = nextFailure(r);
    const s = await rawPushSender(r.address.port);
    s.socket.write(encodeHeader({ name: 'liar.bin', size: announced, checksum }));
    expect(await s.reply()).toMatchObject({ status: PushStatus.READY });
    s.socket.write(crypto.randomBytes(MiB));
    await until(() => r.transfers()[0]?.received === MiB, 'the receiver to take the 1 MiB');
    const parts = fs.readdirSync(r.dir);
    expect(parts).toEqual([expect.stringMatching(/^\.rmmap-push-\d+-[0-9a-f]+\.part$/)]);
    const held = allocated(path.join(r.dir, parts[0]!));
    expect(held).toBeGreaterThanOrEqual(MiB);
    expect(held).toBeLessThanOrEqual(MiB + RESERVE_WINDOW);
    s.socket.destroy();
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_TRUNCATED', name: 'liar.bin', received: MiB });
    expect(fs.readdirSync(r.dir)).toEqual([]);
  });

  it('refuses a size above the default limit (64 GiB) with TOO_LARGE, naming --max-size, before creating anything', async () => {
    const r = await receiver();
    const failed = nextFailure(r);
    const s = await rawPushSender(r.address.port);
    s.socket.write(encodeHeader({ name: 'huge.bin', size: DEFAULT_MAX_SIZE + 1, checksum: 3 }));
    const reply = await s.reply();
    expect(reply).toMatchObject({ status: PushStatus.TOO_LARGE, message: expect.stringContaining('--max-size') });
    expect(reply.message).toContain(String(DEFAULT_MAX_SIZE));
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_TOO_LARGE' });
    await s.ended;
    expect(fs.readdirSync(r.dir)).toEqual([]);
    s.socket.destroy();
  });

  it('accepts exactly maxSize and refuses one byte more', async () => {
    const r = await receiver({ maxSize: 10 });
    const ok = await rawPushSender(r.address.port);
    ok.socket.write(encodeHeader({ name: 'ten.bin', size: 10, checksum: 3 }));
    expect(await ok.reply()).toMatchObject({ status: PushStatus.READY });
    ok.socket.destroy();
    const big = await rawPushSender(r.address.port);
    big.socket.write(encodeHeader({ name: 'eleven.bin', size: 11, checksum: 3 }));
    expect(await big.reply()).toMatchObject({ status: PushStatus.TOO_LARGE });
    big.socket.destroy();
  });
});

describe('time: handshake and idle timeouts', () => {
  it('drops a connection that sends no complete header, naming --handshake-timeout', async () => {
    const r = await receiver({ headerTimeoutMs: 200 });
    const failed = nextFailure(r);
    const s = await rawPushSender(r.address.port);
    s.socket.write(encodeHeader({ name: 'slow.bin', size: 4, checksum: 3 }).subarray(0, 10)); // half a header
    expect(await s.reply()).toMatchObject({ status: PushStatus.TIMEOUT, message: expect.stringContaining('--handshake-timeout') });
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_TIMEOUT' });
    await s.ended;
    s.socket.destroy();
  });

  it('drops a sender that stalls mid-data, naming --idle-timeout, and removes its partial file', async () => {
    const r = await receiver({ idleTimeoutMs: 200 });
    const failed = nextFailure(r);
    const s = await rawPushSender(r.address.port);
    s.socket.write(encodeHeader({ name: 'stall.bin', size: 10 * MiB, checksum: 3 }));
    expect(await s.reply()).toMatchObject({ status: PushStatus.READY });
    s.socket.write(crypto.randomBytes(100_000));
    expect(await s.reply()).toMatchObject({ status: PushStatus.TIMEOUT, message: expect.stringContaining('--idle-timeout') });
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_TIMEOUT', name: 'stall.bin' });
    expect(fs.readdirSync(r.dir)).toEqual([]);
    s.socket.destroy();
  });
});

describe('connections: at most maxConcurrent, then BUSY', () => {
  it("turns the extra connection away with BUSY and a 'refused' event, and serves again once a slot frees", async () => {
    const r = await receiver({ maxConcurrent: 1, headerTimeoutMs: 5000 });
    const refused = new Promise<RefusedEvent>((resolve) => r.once('refused', resolve));
    const first = await rawPushSender(r.address.port);
    await until(() => r.transfers().length === 1, 'the first connection to take the slot');
    const second = await rawPushSender(r.address.port);
    expect(await second.reply()).toMatchObject({ status: PushStatus.BUSY, message: expect.stringContaining('--max-connections') });
    expect(await refused).toMatchObject({ code: 'ERR_RMMAP_PUSH_BUSY', replied: true, remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    second.socket.destroy();
    first.socket.destroy();
    await until(() => r.transfers().length === 0, 'the slot to free');
    const third = await rawPushSender(r.address.port);
    third.socket.write(encodeHeader({ name: 'after.bin', size: 1, checksum: 3 }));
    expect(await third.reply()).toMatchObject({ status: PushStatus.READY });
    third.socket.destroy();
  });

  it.each([
    [{ maxSize: -1 }, 'maxSize'],
    [{ maxSize: 1.5 }, 'maxSize'],
    [{ idleTimeoutMs: Number.NaN }, 'idleTimeoutMs'],
    [{ headerTimeoutMs: 0 }, 'headerTimeoutMs'],
    [{ maxConcurrent: 0 }, 'maxConcurrent'],
  ])('refuses the option %j (a limit that would not limit)', async (options, name) => {
    await expect(PushReceiver.listen({ dir: base, ...options })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining(name) });
  });
});

describe('logs: one line per client per kind per second', () => {
  it('holds back repeats of one client and kind, and counts them on the next line', () => {
    const lines: string[] = [];
    const log = new ReceiveLog((l) => lines.push(l));
    for (let i = 0; i < 50; i++) log.line(`10.0.0.1:${40000 + i}`, 'ERR_RMMAP_PUSH_TIMEOUT', `timeout ${i}`, 1000 + i);
    log.line('10.0.0.1:50000', 'ERR_RMMAP_PUSH_BAD_NAME', 'bad name', 1010); // another kind: its own budget
    log.line('10.0.0.2:50000', 'ERR_RMMAP_PUSH_TIMEOUT', 'other client', 1010); // another client: its own budget
    log.line('10.0.0.1:50001', 'ERR_RMMAP_PUSH_TIMEOUT', 'timeout later', 2000);
    expect(lines).toEqual(['timeout 0', 'bad name', 'other client', 'timeout later (49 similar suppressed)']);
  });

  it('keys a client by its address, IPv6 included, not by its port', () => {
    expect(clientOf('127.0.0.1:5555')).toBe('127.0.0.1');
    expect(clientOf('::ffff:10.0.0.1:5555')).toBe('::ffff:10.0.0.1');
    expect(clientOf('?:?')).toBe('?');
  });
});

describe('shm-push receive flags', () => {
  async function cli(...argv: string[]): Promise<{ status: number; err: string }> {
    let err = '';
    const status = await main(argv, { out: () => undefined, err: (s) => (err += s) });
    return { status, err };
  }

  it.each([
    [['--idle-timeout', 'soon'], '--idle-timeout must be a duration'],
    [['--handshake-timeout', '0'], '--handshake-timeout must be a duration'],
    [['--max-connections', '0'], '--max-connections must be 1..65536'],
    [['--max-connections', 'many'], '--max-connections must be 1..65536'],
    [['--max-size', '9P'], '--max-size must be a size'],
  ])('%j is a usage error (status 2)', async (flags, message) => {
    const r = await cli('receive', '--port', '0', '--dir', base, ...flags);
    expect(r.status).toBe(2);
    expect(r.err).toContain(message);
  });
});
