// Push end to end inside one process: real TCP sockets, real worker threads,
// real files. (Separate processes and kill -9 are in tests-integration.)
import crypto from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { closeIdleSenderThreads, PushReceiver, pushFile, PushStatus, type FailedEvent } from '../src';
import { idleSenderThreads } from '../src/sender-threads';
import { encodeHeader, encodeReply, encodeTrailer, ReplyParser } from '../src/wire';
import { loadXxhashRef } from './helpers/xxhash-ref';
import { rawPushSender, type RawSender } from './helpers/raw-push-sender';

let base: string;
const receivers: PushReceiver[] = [];

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-push-test-'));
});
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close(1000)));
  fs.rmSync(base, { recursive: true, force: true });
});

function dir(name: string): string {
  const d = path.join(base, name);
  fs.mkdirSync(d);
  return d;
}

async function receiver(name: string, options: { overwrite?: boolean; maxSize?: number } = {}): Promise<PushReceiver> {
  const r = await PushReceiver.listen({ dir: dir(name), ...options });
  receivers.push(r);
  return r;
}

// zlib.crc32 exists since Node 20.15; @types/node 20.11 does not know it.
const crc32 = (zlib as unknown as { crc32: (data: Uint8Array) => number }).crc32;
let h64: (data: Uint8Array) => bigint;
beforeAll(async () => {
  h64 = (await loadXxhashRef()).h64Raw;
});

function source(bytes: number, name = 'payload.bin'): { file: string; sha: string; crc: string; xxh: string } {
  const file = path.join(base, name);
  const data = crypto.randomBytes(bytes);
  fs.writeFileSync(file, data);
  return {
    file,
    sha: crypto.createHash('sha256').update(data).digest('hex'),
    crc: (crc32(data) >>> 0).toString(16).padStart(8, '0'),
    xxh: h64(data).toString(16).padStart(16, '0'),
  };
}

const dest = (r: PushReceiver) => `127.0.0.1:${r.address.port}`;
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** Paths under `dir` that this process holds open (deleted files included). */
function openFilesUnder(dir: string): string[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile (the listing's own fd)
      }
    })
    .filter((target) => target.startsWith(dir));
}
const nextFailure = (r: PushReceiver) => new Promise<FailedEvent>((resolve) => r.once('failed', resolve));

/** A hand-driven sender speaking the wire format, for hostile and broken peers. */
const rawSender = (r: PushReceiver): Promise<RawSender> => rawPushSender(r.address.port);

describe('pushFile → PushReceiver', () => {
  it('stores identical bytes at every receiver, 0600, with no partial files left', async () => {
    const rs = await Promise.all([receiver('a'), receiver('b')]);
    const src = source(3 * 1024 * 1024 + 17);
    const seen: number[] = [];
    const result = await pushFile(src.file, rs.map(dest), { onProgress: (ps) => seen.push(...ps.map((p) => p.sent)), progressIntervalMs: 5 });
    expect(result.ok).toBe(true);
    // xxh64 is the default checksum.
    expect(result.digest).toBe(`xxh64:${src.xxh}`);
    expect(result.receivers.map((x) => x.ok)).toEqual([true, true]);
    for (const r of rs) {
      const stored = path.join(r.dir, 'payload.bin');
      expect(sha(stored)).toBe(src.sha);
      expect(fs.statSync(stored).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(r.dir)).toEqual(['payload.bin']);
    }
    expect(Math.max(...seen)).toBe(3 * 1024 * 1024 + 17);
  });

  it('publishes results on the rmmap:push:* diagnostics channels', async () => {
    const seen: Array<[string, unknown]> = [];
    const subs = ['rmmap:push:result', 'rmmap:push:stored', 'rmmap:push:failed'].map((name) => {
      const fn = (msg: unknown) => seen.push([name, msg]);
      diagnosticsChannel.subscribe(name, fn);
      return () => diagnosticsChannel.unsubscribe(name, fn);
    });
    try {
      const r = await receiver('a');
      fs.writeFileSync(path.join(r.dir, 'taken.bin'), 'x');
      const src = source(1000, 'taken.bin');
      const stored = source(1000, 'fresh.bin');
      // The sender hears the verdict before the receiver's thread reports
      // it to its main thread: wait for the receiver's own events too.
      const storedEvent = new Promise((resolve) => r.once('stored', resolve));
      await pushFile(stored.file, [dest(r)]);
      await storedEvent;
      const failedEvent = nextFailure(r);
      await pushFile(src.file, [dest(r)]);
      await failedEvent;
      expect(seen).toEqual(
        expect.arrayContaining([
          ['rmmap:push:stored', expect.objectContaining({ name: 'fresh.bin', size: 1000, digest: `xxh64:${stored.xxh}` })],
          ['rmmap:push:result', expect.objectContaining({ name: 'fresh.bin', ok: true, destination: dest(r) })],
          ['rmmap:push:failed', expect.objectContaining({ name: 'taken.bin', code: 'ERR_RMMAP_PUSH_EXISTS' })],
          ['rmmap:push:result', expect.objectContaining({ name: 'taken.bin', ok: false, code: 'ERR_RMMAP_PUSH_EXISTS' })],
        ]),
      );
    } finally {
      for (const off of subs) off();
    }
  });

  it('pushes empty files and honours --name and sha256', async () => {
    const r = await receiver('a');
    const empty = source(0, 'empty');
    expect((await pushFile(empty.file, [dest(r)])).ok).toBe(true);
    expect(fs.statSync(path.join(r.dir, 'empty')).size).toBe(0);
    const src = source(100_000);
    const res = await pushFile(src.file, [dest(r)], { name: 'renamed.bin', checksum: 'sha256' });
    expect(res.ok).toBe(true);
    expect(res.digest).toBe(`sha256:${src.sha}`);
    expect(sha(path.join(r.dir, 'renamed.bin'))).toBe(src.sha);
  });

  it('serves concurrent and back-to-back pushes on one receiver (threads are recycled)', async () => {
    const r = await receiver('a');
    const src = source(300_000);
    const stored: string[] = [];
    r.on('stored', (e: { name: string }) => stored.push(e.name));
    const together = await Promise.all(['c0', 'c1', 'c2'].map((name, i) => pushFile(src.file, [dest(r)], { name, ...(i === 1 ? { checksum: 'sha256' as const } : {}) })));
    expect(together.map((x) => x.ok)).toEqual([true, true, true]);
    for (const name of ['s0', 's1', 's2']) expect((await pushFile(src.file, [dest(r)], { name })).ok).toBe(true);
    // The sender hears STORED before the receiver's thread reports it here.
    for (let i = 0; i < 500 && (stored.length < 6 || r.transfers().length > 0); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stored.sort()).toEqual(['c0', 'c1', 'c2', 's0', 's1', 's2']);
    for (const name of stored) expect(sha(path.join(r.dir, name))).toBe(src.sha);
    expect(r.transfers()).toEqual([]);
  });

  it('keeps one idle sender thread between pushes and reuses it; closeIdleSenderThreads() ends it', async () => {
    await closeIdleSenderThreads();
    const r = await receiver('reuse', { overwrite: true });
    const src = source(100_000);
    for (let i = 0; i < 5; i++) {
      expect((await pushFile(src.file, [dest(r)])).ok).toBe(true);
      // A new thread per push would leave 2, 3, 4 idle threads here.
      expect(idleSenderThreads()).toBe(1);
    }
    await closeIdleSenderThreads();
    expect(idleSenderThreads()).toBe(0);
    expect((await pushFile(src.file, [dest(r)])).ok).toBe(true);
    expect(idleSenderThreads()).toBe(1);
  });

  it('verifies big files every way: xxh64 and crc32 as the bytes pass through, sha256 in hashing threads', async () => {
    // 17 MiB: above the size where sha256 gets a hashing thread at each end.
    const rs = await Promise.all([receiver('a'), receiver('b')]);
    const src = source(17 * 1024 * 1024 + 5);
    const xxh = await pushFile(src.file, rs.map(dest), { name: 'xxh.bin' });
    expect(xxh.digest).toBe(`xxh64:${src.xxh}`);
    const crc = await pushFile(src.file, rs.map(dest), { name: 'crc.bin', checksum: 'crc32' });
    expect(crc.digest).toBe(`crc32:${src.crc}`);
    const sha256 = await pushFile(src.file, rs.map(dest), { name: 'sha.bin', checksum: 'sha256' });
    expect(sha256.digest).toBe(`sha256:${src.sha}`);
    expect([xxh.ok, crc.ok, sha256.ok]).toEqual([true, true, true]);
    for (const r of rs) {
      expect(fs.readdirSync(r.dir).sort()).toEqual(['crc.bin', 'sha.bin', 'xxh.bin']);
      expect(sha(path.join(r.dir, 'xxh.bin'))).toBe(src.sha);
      expect(sha(path.join(r.dir, 'crc.bin'))).toBe(src.sha);
      expect(sha(path.join(r.dir, 'sha.bin'))).toBe(src.sha);
    }
  });

  it('fails with ERR_RMMAP_PUSH_FILE_CHANGED, and does not crash, when the file is truncated mid-push', async () => {
    const src = source(64 * 1024 * 1024);
    // A receiver that says READY and then stops reading, until the file shrank.
    const held: net.Socket[] = [];
    const server = net.createServer((sock) => {
      held.push(sock);
      sock.once('data', () => {
        sock.write(encodeReply(PushStatus.READY, ''));
        sock.pause();
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      let truncated = false;
      const result = await pushFile(src.file, [`127.0.0.1:${(server.address() as net.AddressInfo).port}`], {
        progressIntervalMs: 5,
        onProgress: (ps) => {
          if (truncated || (ps[0]?.sent ?? 0) === 0) return;
          truncated = true;
          fs.truncateSync(src.file, 1024 * 1024);
          for (const sock of held) sock.resume();
        },
      });
      expect(truncated).toBe(true);
      expect(result.ok).toBe(false);
      expect(result.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_FILE_CHANGED' });
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a dead destination by name and still delivers to the others', async () => {
    const r = await receiver('a');
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const src = source(1024 * 1024);
    const res = await pushFile(src.file, [dest(r), `127.0.0.1:${deadPort}`]);
    expect(res.ok).toBe(false);
    expect(res.receivers[0]).toMatchObject({ ok: true });
    expect(res.receivers[1]).toMatchObject({ ok: false, destination: `127.0.0.1:${deadPort}`, code: 'ECONNREFUSED' });
    expect(sha(path.join(r.dir, 'payload.bin'))).toBe(src.sha);
  });

  it('refuses to replace an existing file unless the receiver allows --overwrite', async () => {
    const keep = await receiver('keep');
    const replace = await receiver('replace', { overwrite: true });
    fs.writeFileSync(path.join(keep.dir, 'payload.bin'), 'old');
    fs.writeFileSync(path.join(replace.dir, 'payload.bin'), 'old');
    const src = source(200_000);
    const res = await pushFile(src.file, [dest(keep), dest(replace)]);
    expect(res.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_EXISTS', message: expect.stringContaining('--overwrite') });
    expect(res.receivers[1]).toMatchObject({ ok: true });
    expect(fs.readFileSync(path.join(keep.dir, 'payload.bin'), 'utf8')).toBe('old');
    expect(sha(path.join(replace.dir, 'payload.bin'))).toBe(src.sha);
  });

  it('enforces the receiver size limit before any data moves', async () => {
    const r = await receiver('a', { maxSize: 1000 });
    const res = await pushFile(source(1001).file, [dest(r)]);
    expect(res.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_TOO_LARGE', sent: 0 });
    expect(fs.readdirSync(r.dir)).toEqual([]);
  });

  it('stops promptly when aborted mid-transfer and leaves nothing at the receiver', async () => {
    const r = await receiver('a');
    const failed = nextFailure(r);
    const src = source(64 * 1024 * 1024);
    const ac = new AbortController();
    const res = pushFile(src.file, [dest(r)], {
      signal: ac.signal,
      progressIntervalMs: 1,
      onProgress: (ps) => {
        if ((ps[0]?.sent ?? 0) > 0) ac.abort();
      },
    });
    const out = await res;
    expect(out.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_ABORTED' });
    expect((await failed).code).toMatch(/TRUNCATED|TIMEOUT|IO_ERROR/);
    expect(fs.readdirSync(r.dir)).toEqual([]);
  });

  it('splits receivers among several sendfile threads when asked', async () => {
    const rs = await Promise.all([receiver('a'), receiver('b'), receiver('c')]);
    const src = source(2 * 1024 * 1024);
    const res = await pushFile(src.file, rs.map(dest), { senderThreads: 3 });
    expect(res.ok).toBe(true);
    for (const r of rs) expect(sha(path.join(r.dir, 'payload.bin'))).toBe(src.sha);
  });

  it('requires the token of a receiver started with one, compared in constant time', async () => {
    const d = dir('locked');
    const r = await PushReceiver.listen({ dir: d, token: 'open sesame' });
    receivers.push(r);
    const src = source(50_000);
    const none = await pushFile(src.file, [dest(r)]);
    expect(none.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_UNAUTHORIZED' });
    const wrong = await pushFile(src.file, [dest(r)], { token: 'open sesamE' });
    expect(wrong.receivers[0]).toMatchObject({ ok: false, code: 'ERR_RMMAP_PUSH_UNAUTHORIZED' });
    expect(fs.readdirSync(d)).toEqual([]);
    expect((await pushFile(src.file, [dest(r)], { token: 'open sesame' })).ok).toBe(true);
    expect(sha(path.join(d, 'payload.bin'))).toBe(src.sha);
    await expect(pushFile(src.file, [dest(r)], { token: '' })).rejects.toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_TOKEN' });
  });

  it('leaves no fd behind: file, sockets, socket dups, pipes and hashing threads are all released', async () => {
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const big = source(20 * 1024 * 1024, 'big.bin'); // above the hashing-thread threshold
    const small = source(1000, 'small.bin');
    // Warm up once so lazily opened things (libc handle, scratch page) exist.
    const warm = await PushReceiver.listen({ dir: dir('warm') });
    await pushFile(small.file, [dest(warm)]);
    await warm.close();
    const before = fds();
    const r = await PushReceiver.listen({ dir: dir('fds'), overwrite: true });
    await pushFile(big.file, [dest(r)]);
    await pushFile(small.file, [dest(r)]);
    // Replaces big.bin: the receiver holds the replaced file until it has replied.
    await pushFile(big.file, [dest(r), '127.0.0.1:9']);
    const ac = new AbortController();
    await pushFile(big.file, [dest(r)], { signal: ac.signal, progressIntervalMs: 1, onProgress: (ps) => (ps[0]?.sent ?? 0) > 0 && ac.abort() });
    // By name, while the receiver still runs: its threads' fds are closed
    // when a thread ends, so a leak in a transfer shows only before close().
    for (let i = 0; i < 500 && r.transfers().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(openFilesUnder(base)).toEqual([]);
    await r.close();
    expect(fds()).toBe(before);
  });

  it('rejects local problems before connecting', async () => {
    await expect(pushFile(path.join(base, 'missing'), ['127.0.0.1:9'])).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(pushFile(base, ['127.0.0.1:9'])).rejects.toMatchObject({ code: 'ERR_RMMAP_PUSH_NOT_A_FILE' });
    await expect(pushFile(source(1).file, ['127.0.0.1:9'], { name: '../up' })).rejects.toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_NAME' });
    await expect(pushFile(source(1).file, ['nohost'])).rejects.toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_DESTINATION' });
    await expect(pushFile(source(1).file, [])).rejects.toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_DESTINATION' });
  });
});

describe('PushReceiver against hostile or broken senders', () => {
  it.each(['../escape', '/etc/passwd', '..', 'a/b', '.rmmap-push-1-00.part'])('refuses the name %j and writes nothing', async (name) => {
    const parent = base;
    const r = await receiver('in');
    const failed = nextFailure(r);
    const { socket, reply } = await rawSender(r);
    socket.write(encodeHeader({ name, size: 4, checksum: 1 }));
    expect(await reply()).toMatchObject({ status: PushStatus.BAD_NAME });
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_BAD_NAME' });
    socket.destroy();
    expect(fs.readdirSync(r.dir)).toEqual([]);
    expect(fs.readdirSync(parent).sort()).toEqual(['in']);
  });

  it('refuses a wrong checksum: no file under the final name, no partial file', async () => {
    const r = await receiver('in');
    const failed = nextFailure(r);
    const { socket, reply } = await rawSender(r);
    const data = crypto.randomBytes(300_000);
    socket.write(encodeHeader({ name: 'x.bin', size: data.length, checksum: 1 }));
    expect(await reply()).toMatchObject({ status: PushStatus.READY });
    socket.write(data);
    socket.write(encodeTrailer(crypto.createHash('sha256').update('something else').digest()));
    expect(await reply()).toMatchObject({ status: PushStatus.CHECKSUM_MISMATCH, message: expect.stringContaining('corrupted') });
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_CHECKSUM_MISMATCH', name: 'x.bin' });
    socket.destroy();
    expect(fs.readdirSync(r.dir)).toEqual([]);
  });

  it.each([
    ['stores', 'the bytes as hashed', PushStatus.STORED],
    ['refuses', 'one bit flipped after hashing', PushStatus.CHECKSUM_MISMATCH],
  ])('xxh64 from a sender writing odd-sized pieces: %s %s', async (_verb, _what, status) => {
    const r = await receiver('in');
    // Reported by the receiver's thread only once its files are cleaned up.
    const verdict = status === PushStatus.STORED ? new Promise((resolve) => r.once('stored', resolve)) : nextFailure(r);
    const { socket, reply } = await rawSender(r);
    const data = crypto.randomBytes(2 * 1024 * 1024 + 77);
    const digest = Buffer.alloc(8);
    digest.writeBigUInt64BE(h64(data));
    if (status === PushStatus.CHECKSUM_MISMATCH) data[1_234_567]! ^= 0x10;
    socket.write(encodeHeader({ name: 'x.bin', size: data.length, checksum: 3 }));
    expect(await reply()).toMatchObject({ status: PushStatus.READY });
    // Pieces that straddle the hash's 32-byte stripes and the receiver's 1 MiB window.
    for (let at = 0, k = 0; at < data.length; k++) {
      const n = Math.min(data.length - at, [1, 31, 33, 4099, 65_537, 1_048_583][k % 6]!);
      socket.write(data.subarray(at, at + n));
      at += n;
    }
    socket.write(encodeTrailer(digest));
    expect(await reply()).toMatchObject({ status });
    await verdict;
    socket.destroy();
    if (status === PushStatus.STORED) expect(fs.readFileSync(path.join(r.dir, 'x.bin')).equals(data)).toBe(true);
    else expect(fs.readdirSync(r.dir)).toEqual([]);
  });

  it('cleans up when the sender vanishes mid-data, and keeps serving', async () => {
    const r = await receiver('in');
    const failed = nextFailure(r);
    const { socket, reply } = await rawSender(r);
    socket.write(encodeHeader({ name: 'cut.bin', size: 5_000_000, checksum: 1 }));
    expect(await reply()).toMatchObject({ status: PushStatus.READY });
    socket.end(crypto.randomBytes(1_000_000));
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_TRUNCATED', message: expect.stringContaining('of 5000000 bytes') });
    expect(fs.readdirSync(r.dir)).toEqual([]);
    const src = source(10_000);
    expect((await pushFile(src.file, [dest(r)])).ok).toBe(true);
  });

  it('refuses strangers and future versions with a reply', async () => {
    const r = await receiver('in');
    const a = await rawSender(r);
    a.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await a.reply()).toMatchObject({ status: PushStatus.BAD_HEADER });
    a.socket.destroy();
    const b = await rawSender(r);
    const h = encodeHeader({ name: 'v.bin', size: 1, checksum: 1 });
    h.writeUInt16BE(9, 4);
    b.socket.write(h);
    expect(await b.reply()).toMatchObject({ status: PushStatus.UNSUPPORTED_VERSION, message: expect.stringContaining('version 9') });
    b.socket.destroy();
  });

  it('close() stops a stalled transfer cleanly: reply, failed event, no partial file', async () => {
    const d = dir('closing');
    const r = await PushReceiver.listen({ dir: d });
    const failed = nextFailure(r);
    const { socket, reply } = await rawSender(r);
    socket.write(encodeHeader({ name: 'stall.bin', size: 10_000_000, checksum: 1 }));
    expect(await reply()).toMatchObject({ status: PushStatus.READY });
    socket.write(crypto.randomBytes(100_000)); // then nothing: the sender stalls
    await r.close(100);
    expect(await failed).toMatchObject({ code: 'ERR_RMMAP_PUSH_BUSY', name: 'stall.bin', message: expect.stringContaining('shutting down') });
    expect(await reply()).toMatchObject({ status: PushStatus.BUSY });
    expect(fs.readdirSync(d)).toEqual([]);
    socket.destroy();
  });

  it('says BUSY beyond maxConcurrent', async () => {
    const d = dir('busy');
    const r = await PushReceiver.listen({ dir: d, maxConcurrent: 1, headerTimeoutMs: 5000 });
    receivers.push(r);
    const first = await rawSender(r); // holds the only slot: no header yet
    const second = await rawSender(r);
    expect(await second.reply()).toMatchObject({ status: PushStatus.BUSY });
    first.socket.destroy();
    second.socket.destroy();
  });

  it('removes partial files left by a dead receiver when it starts', async () => {
    const d = dir('stale');
    // pid_max is at most 2^22 on Linux, so this pid can never be alive.
    const deadPid = 4194305;
    fs.writeFileSync(path.join(d, `.rmmap-push-${deadPid}-abcd.part`), 'partial');
    fs.writeFileSync(path.join(d, `.rmmap-push-${process.pid}-abcd.part`), 'ours: alive');
    fs.writeFileSync(path.join(d, 'unrelated'), 'keep');
    const r = await PushReceiver.listen({ dir: d });
    receivers.push(r);
    expect(fs.readdirSync(d).sort()).toEqual([`.rmmap-push-${process.pid}-abcd.part`, 'unrelated']);
  });

  it('fails to start on a missing directory with a clear message', async () => {
    await expect(PushReceiver.listen({ dir: path.join(base, 'nope') })).rejects.toMatchObject({ code: 'ENOENT', message: expect.stringContaining('create it first') });
  });
});

test('encodeReply is what the receiver sends (sanity for the raw sender above)', () => {
  expect(new ReplyParser().push(encodeReply(PushStatus.READY, ''))).toEqual([{ status: 0, message: '' }]);
});
