// The daemon and the async client in one process (workers: 0, so no
// threads). Blocking calls, worker threads and crashes need separate
// processes: tests-integration/test/tinyfile-*.test.ts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';

import { compressBlock, compressFramed, decompressFramed, STREAM_IDENTIFIER } from '../src/codec';
import { maxCompressedLength, TinyFile, Tinyd, queryStatus, uncompressedLength } from '../src';
import { kUnsafeSubmit, OP, S_IN_LEN, S_HIST_LEN, S_OUT_LIMIT, type UnsafeRequest } from '../src/protocol';

let dir: string;
let daemon: Tinyd;
let socket: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyfile-unit-'));
  socket = path.join(dir, 'tinyd.sock');
  daemon = await Tinyd.start({ socketPath: socket, workers: 0, smsSize: 128 * 1024, nSms: 12, slotsPerClient: 3, log: (l) => logs.push(l) });
});
afterAll(async () => {
  await daemon.close(1000);
  fs.rmSync(dir, { recursive: true, force: true });
});

function text(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `line ${i % 977} of the tinyfile unit test ${(i * 31) % 101}\n`;
  return Buffer.from(s.slice(0, n));
}

describe('tinyd + TinyFile (async, one process)', () => {
  let tf: TinyFile;
  beforeEach(async () => {
    tf = await TinyFile.connect({ socket });
  });
  afterEach(async () => {
    await tf.close();
  });

  it('creates its socket 0600', () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['1 byte', Buffer.from([42])],
    ['text spanning many segments', text(700_000)],
    ['random', randomBytes(300_000)],
  ])('round-trips %s, byte-identical to the same codec in-process', async (_n, input) => {
    const block = await tf.compress(input);
    expect(block.equals(compressBlock(input, daemon.codec))).toBe(true);
    expect((await tf.decompress(block)).equals(input)).toBe(true);
  });

  it('decodes a big block in independent pieces, byte-identical', async () => {
    const input = text(9 << 20);
    const block = compressBlock(input);
    tf.resetStats();
    expect((await tf.decompress(block)).equals(input)).toBe(true);
    // Sequentially a 9 MiB block takes ≥ 72 rounds of one 128 KiB segment; cut, 144 pieces of 64 KiB.
    expect(tf.stats.chunks).toBeGreaterThanOrEqual(144);
  });

  it('pipelines concurrent calls from one client', async () => {
    const inputs = Array.from({ length: 10 }, (_, i) => text(20_000 + i * 30_000));
    const blocks = await Promise.all(inputs.map((b) => tf.compress(b)));
    const back = await Promise.all(blocks.map((b) => tf.decompress(b)));
    back.forEach((b, i) => expect(b.equals(inputs[i]!)).toBe(true));
  });

  it('fails only the corrupt request, with the input offset', async () => {
    const block = compressBlock(text(200_000));
    const bad = Buffer.from(block);
    bad.fill(0xff, 20_000, 20_010);
    const err = (await tf.decompress(bad).catch((e: unknown) => e)) as { code: string; offset: number };
    expect(err.code).toMatch(/^ERR_TINYFILE_(CORRUPT_INPUT|WINDOW)$/);
    expect(err.offset).toBeGreaterThanOrEqual(19_900);
    expect(err.offset).toBeLessThanOrEqual(20_020);
    await expect(tf.decompress(Buffer.from([5, 0x10]))).rejects.toMatchObject({ code: 'ERR_TINYFILE_CORRUPT_INPUT' });
    expect((await tf.decompress(block)).equals(text(200_000))).toBe(true);
  });

  it('refuses a declared length above maxOutputLength without asking the daemon', async () => {
    const small = await TinyFile.connect({ socket, maxOutputLength: 1000 });
    try {
      await expect(small.decompress(compressBlock(text(5000)))).rejects.toMatchObject({ code: 'ERR_TINYFILE_TOO_LARGE' });
    } finally {
      await small.close();
    }
  });

  describe('compressInto', () => {
    it.each([
      ['empty', Buffer.alloc(0)],
      ['1 byte', Buffer.from([42])],
      ['text cut into more pieces than the client has segments', text(700_000)],
      ['random', randomBytes(300_000)],
    ])('writes %s as the same block compress() returns, and nothing past it', async (_n, input) => {
      const bound = maxCompressedLength(input.length);
      const outer = Buffer.alloc(bound + 200, 0xa5);
      const target = outer.subarray(100, 100 + bound);
      tf.resetStats();
      const n = await tf.compressInto(input, target);
      if (input.length > 300_000) expect(tf.stats.chunks).toBeGreaterThan(3);
      expect(target.subarray(0, n).equals(await tf.compress(input))).toBe(true);
      expect(outer.subarray(0, 100).every((b) => b === 0xa5) && outer.subarray(100 + n).every((b) => b === 0xa5)).toBe(true);
    });

    it('refuses a target below maxCompressedLength(input.length) before sending anything', async () => {
      const input = text(100_000);
      const target = Buffer.alloc(maxCompressedLength(input.length) - 1, 0xa5);
      tf.resetStats();
      const err = (await tf.compressInto(input, target).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('ERR_TINYFILE_BUFFER_TOO_SMALL');
      expect(err.message).toBe(`a block of 100000 input bytes can take up to ${target.length + 1} bytes but the target holds only ${target.length}; size it with maxCompressedLength(input.length)`);
      expect(tf.stats.chunks).toBe(0);
      expect(target.every((b) => b === 0xa5)).toBe(true);
    });

    it('refuses a target that overlaps the input', async () => {
      const both = Buffer.alloc(50_000 + maxCompressedLength(50_000));
      text(50_000).copy(both);
      await expect(tf.compressInto(both.subarray(0, 50_000), both.subarray(49_000))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      const n = await tf.compressInto(both.subarray(0, 50_000), both.subarray(50_000));
      expect(both.subarray(50_000, 50_000 + n).equals(compressBlock(text(50_000), daemon.codec))).toBe(true);
    });
  });

  describe('decompressInto', () => {
    /** A target of `n` bytes inside a larger buffer filled with a sentinel, so writes outside it show. */
    function framed(n: number): { outer: Buffer; target: Buffer } {
      const outer = Buffer.alloc(n + 200, 0xa5);
      return { outer, target: outer.subarray(100, 100 + n) };
    }
    function untouchedAround(outer: Buffer, from: number, to: number): boolean {
      return outer.subarray(0, from).every((b) => b === 0xa5) && outer.subarray(to).every((b) => b === 0xa5);
    }

    it.each([
      ['empty', Buffer.alloc(0)],
      ['1 byte', Buffer.from([42])],
      ['text decoded through one segment in many chunks', text(700_000)],
      ['random', randomBytes(300_000)],
    ])('decodes %s into the start of the target, writes nothing else, and returns the length', async (_n, input) => {
      const block = compressBlock(input);
      expect(uncompressedLength(block)).toBe(input.length);
      // 50 spare bytes inside the target too: they must keep the sentinel.
      const { outer, target } = framed(input.length + 50);
      expect(await tf.decompressInto(block, target)).toBe(input.length);
      expect(target.subarray(0, input.length).equals(input)).toBe(true);
      expect(untouchedAround(outer, 100, 100 + input.length)).toBe(true);
    });

    it('decodes a big block in independent pieces straight into the target', async () => {
      const input = text(9 << 20);
      const block = compressBlock(input);
      const { outer, target } = framed(input.length);
      tf.resetStats();
      expect(await tf.decompressInto(block, target)).toBe(input.length);
      expect(tf.stats.chunks).toBeGreaterThanOrEqual(144);
      expect(target.equals(input)).toBe(true);
      expect(untouchedAround(outer, 100, 100 + input.length)).toBe(true);
    });

    it('takes a Uint8Array over a SharedArrayBuffer as its target', async () => {
      const input = text(200_000);
      const target = new Uint8Array(new SharedArrayBuffer(input.length));
      expect(await tf.decompressInto(compressBlock(input), target)).toBe(input.length);
      expect(Buffer.from(target).equals(input)).toBe(true);
    });

    it('refuses a target too small before sending anything, and leaves it as it was', async () => {
      const block = compressBlock(text(100_000));
      const { outer, target } = framed(99_999);
      tf.resetStats();
      const err = (await tf.decompressInto(block, target).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('ERR_TINYFILE_BUFFER_TOO_SMALL');
      expect(err.message).toBe('the block decodes to 100000 bytes but the target holds only 99999; size it with uncompressedLength(block)');
      expect(tf.stats.chunks).toBe(0);
      expect(outer.every((b) => b === 0xa5)).toBe(true);
    });

    it('refuses a target that overlaps the block, and a target that is not bytes', async () => {
      const block = compressBlock(text(50_000));
      const both = Buffer.alloc(block.length + 50_000);
      block.copy(both, 0);
      const inBoth = both.subarray(0, block.length);
      await expect(tf.decompressInto(inBoth, both.subarray(block.length - 10))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      // Adjacent is fine.
      expect(await tf.decompressInto(inBoth, both.subarray(block.length))).toBe(50_000);
      expect(both.subarray(block.length).equals(text(50_000))).toBe(true);
      await expect(tf.decompressInto(block, 'out' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(tf.decompressInto(block, undefined as unknown as Uint8Array)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(tf.compressInto(text(10), undefined as unknown as Uint8Array)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    });

    it('fails a corrupt block with the input offset, like decompress()', async () => {
      const bad = compressBlock(text(200_000));
      bad.fill(0xff, 20_000, 20_010);
      const err = (await tf.decompressInto(bad, Buffer.alloc(200_000)).catch((e: unknown) => e)) as { code: string; offset: number };
      expect(err.code).toMatch(/^ERR_TINYFILE_(CORRUPT_INPUT|WINDOW)$/);
      expect(err.offset).toBeGreaterThanOrEqual(19_900);
      expect(err.offset).toBeLessThanOrEqual(20_020);
    });

    it('is bounded by its target, not by maxOutputLength (it allocates nothing)', async () => {
      const small = await TinyFile.connect({ socket, maxOutputLength: 1000 });
      try {
        const input = text(5000);
        const target = Buffer.alloc(5000);
        expect(await small.decompressInto(compressBlock(input), target)).toBe(5000);
        expect(target.equals(input)).toBe(true);
      } finally {
        await small.close();
      }
    });
  });

  it('survives hostile request headers: each fails alone with ERR_TINYFILE_BAD_REQUEST', async () => {
    const hostile: UnsafeRequest[] = [
      { op: 99, words: { [S_IN_LEN]: 10 } },
      { op: OP.COMPRESS_RAW, words: { [S_IN_LEN]: -5 } },
      { op: OP.COMPRESS_RAW, words: { [S_IN_LEN]: 0x7fffffff } },
      { op: OP.DECOMPRESS_RAW, words: { [S_IN_LEN]: 10, [S_HIST_LEN]: 1 << 20, [S_OUT_LIMIT]: 10 } },
      { op: OP.DECOMPRESS_RAW, words: { [S_IN_LEN]: 10, [S_HIST_LEN]: 0, [S_OUT_LIMIT]: -1 } },
    ];
    for (const req of hostile) {
      const r = await tf[kUnsafeSubmit](req);
      expect(r).toMatchObject({ failed: true, status: 'ERR_TINYFILE_BAD_REQUEST' });
    }
    const garbage = await tf[kUnsafeSubmit]({ op: OP.DECOMPRESS_FRAMED, words: { [S_IN_LEN]: 64 }, data: randomBytes(64) });
    expect(garbage.failed).toBe(true);
    expect((await tf.decompress(await tf.compress(text(1000)))).equals(text(1000))).toBe(true);
  });

  it('compresses and decompresses files in the framing format, with progress', async () => {
    const src = path.join(dir, 'in.txt');
    const input = Buffer.concat([text(400_000), randomBytes(100_000)]);
    fs.writeFileSync(src, input);
    const progress: number[] = [];
    const r = await tf.compressFile(src, `${src}.sz`, { onProgress: (d) => progress.push(d) });
    expect(r.bytesIn).toBe(input.length);
    expect(fs.statSync(`${src}.sz`).size).toBe(r.bytesOut);
    expect(fs.statSync(`${src}.sz`).mode & 0o777).toBe(0o600);
    expect(progress.at(-1)).toBe(input.length);
    const framed = fs.readFileSync(`${src}.sz`);
    expect(framed.equals(compressFramed(input))).toBe(true);
    await tf.decompressFile(`${src}.sz`, path.join(dir, 'out.txt'));
    expect(fs.readFileSync(path.join(dir, 'out.txt')).equals(input)).toBe(true);
  });

  it('round-trips an empty file as a stream identifier alone', async () => {
    const src = path.join(dir, 'empty');
    fs.writeFileSync(src, '');
    await tf.compressFile(src, `${src}.sz`);
    expect(fs.readFileSync(`${src}.sz`).equals(STREAM_IDENTIFIER)).toBe(true);
    await tf.decompressFile(`${src}.sz`, `${src}.out`);
    expect(fs.readFileSync(`${src}.out`).length).toBe(0);
  });

  it('leaves no output behind when a file does not decode', async () => {
    const src = path.join(dir, 'bad.sz');
    const framed = compressFramed(text(300_000));
    framed[framed.length - 100]! ^= 0x55;
    fs.writeFileSync(src, framed);
    const before = fs.readdirSync(dir).length;
    await expect(tf.decompressFile(src, path.join(dir, 'bad.out'))).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_TINYFILE_(BAD_CHECKSUM|CORRUPT_INPUT)$/),
    });
    expect(fs.readdirSync(dir).length).toBe(before);
    fs.writeFileSync(src, 'definitely not snappy');
    await expect(tf.decompressFile(src, path.join(dir, 'bad.out'))).rejects.toThrow(/stream identifier/);
  });

  it('streams through Transform streams', async () => {
    const input = text(600_000);
    const parts: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) });
    const pieces = Array.from({ length: 60 }, (_, i) => input.subarray(i * 10_000, (i + 1) * 10_000));
    await pipeline(Readable.from(pieces), tf.createCompressStream(), sink);
    const framed = Buffer.concat(parts);
    expect(decompressFramed(framed).equals(input)).toBe(true);
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([framed.subarray(0, 7), framed.subarray(7, 70_001), framed.subarray(70_001)]),
      tf.createDecompressStream(),
      new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }),
    );
    expect(Buffer.concat(out).equals(input)).toBe(true);
  });

  it('reports clients and bytes in status', async () => {
    await tf.compress(text(50_000));
    const s = await queryStatus(socket);
    expect(s.clients.length).toBeGreaterThanOrEqual(1);
    expect(s.totals.bytesIn).toBeGreaterThan(0);
    expect(s.segments.used).toBeGreaterThanOrEqual(3);
  });

  it('throws ERR_TINYFILE_CLOSED after close()', async () => {
    await tf.close();
    await expect(tf.compress(Buffer.from('x'))).rejects.toMatchObject({ code: 'ERR_TINYFILE_CLOSED' });
  });
});

describe('connection errors', () => {
  it('names the socket when no daemon listens', async () => {
    await expect(TinyFile.connect({ socket: path.join(dir, 'nobody.sock') })).rejects.toMatchObject({
      code: 'ERR_TINYFILE_NOT_RUNNING',
      message: expect.stringContaining('nobody.sock'),
    });
  });

  it('queues a registration until a segment frees, and times out with ERR_TINYFILE_BUSY', async () => {
    const hogs = await Promise.all([0, 1, 2, 3].map(() => TinyFile.connect({ socket, segments: 3 })));
    try {
      await expect(TinyFile.connect({ socket, connectTimeout: 300 })).rejects.toMatchObject({ code: 'ERR_TINYFILE_BUSY' });
      const waiting = TinyFile.connect({ socket, connectTimeout: 5000 });
      await hogs[0]!.close();
      const late = await waiting;
      expect((await late.decompress(await late.compress(text(100)))).equals(text(100))).toBe(true);
      await late.close();
    } finally {
      await Promise.all(hogs.map((h) => h.close()));
    }
  });

  it('refuses to start a second daemon on a live socket', async () => {
    await expect(Tinyd.start({ socketPath: socket, workers: 0, log: () => undefined })).rejects.toMatchObject({ code: 'ERR_TINYFILE_RUNNING' });
  });

  it('rejects bad daemon options with ERR_INVALID_ARG_VALUE', async () => {
    await expect(Tinyd.start({ socketPath: path.join(dir, 'x.sock'), smsSize: 1000, log: () => undefined })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
