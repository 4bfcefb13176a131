// The C snappy library through ffi: what it writes decodes with every other
// decoder, what it refuses falls back to tinyfile's decoder, and a library
// that does not load is an ERR_TINYFILE_NO_NATIVE_CODEC naming the path.
import { randomBytes } from 'node:crypto';

import * as sys from '@shmkit/shm-fd/sys';
import * as snappyjs from 'snappyjs';

import { compressBlock, compressFramed, decodeFrames, decompressBlock, LibSnappy, libSnappyCodec, MAX_DATA_CHUNK_LENGTH, maxCompressedLength, STREAM_IDENTIFIER } from '../src/codec';

function text(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `record ${i % 613} of the libsnappy test ${(i * 7) % 53}\n`;
  return Buffer.from(s.slice(0, n));
}

function loads(): boolean {
  try {
    LibSnappy.load().close();
    return true;
  } catch {
    return false;
  }
}

it('a library that does not load is ERR_TINYFILE_NO_NATIVE_CODEC, naming it and the fix', () => {
  expect(() => LibSnappy.load('/nonexistent/libsnappy.so.1')).toThrow(
    expect.objectContaining({ code: 'ERR_TINYFILE_NO_NATIVE_CODEC', message: expect.stringMatching(/\/nonexistent\/libsnappy\.so\.1.*install libsnappy1v5 or set TINYFILE_LIBSNAPPY/) }),
  );
  // Loads, but has no snappy functions.
  expect(() => LibSnappy.load('libc.so.6')).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_NO_NATIVE_CODEC', message: expect.stringMatching(/libc\.so\.6.*snappy_max_compressed_length/) }));
});

const maybe = loads() ? describe : describe.skip;
if (!loads()) console.warn('libsnappy is missing: apt-get install libsnappy1v5 to run the libsnappy tests');

maybe('libsnappy', () => {
  const codec = libSnappyCodec();
  afterAll(() => codec.close?.());

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', text(300_000)],
    ['random', randomBytes(200_000)],
    ['zeros', Buffer.alloc(150_000)],
  ])('compresses %s from heap and from mapped memory alike; snappyjs and our decoder read the block', (_n, input) => {
    const block = compressBlock(input, codec);
    expect(Buffer.from(snappyjs.uncompress(block)).equals(input)).toBe(true);
    expect(decompressBlock(block).equals(input)).toBe(true);
    using m = sys.mapAnonymous(Math.max(4096, input.length + maxCompressedLength(input.length)));
    m.buffer.set(input, 0);
    const out = m.buffer.subarray(input.length, input.length + maxCompressedLength(input.length));
    const n = codec.compress(m.buffer.subarray(0, input.length), out);
    expect(out.subarray(0, n).equals(block)).toBe(true);
    const back = Buffer.alloc(input.length);
    expect(codec.decompress!(block, back)).toBe(input.length);
    expect(back.equals(input)).toBe(true);
  });

  it('decompress answers -1 for a corrupt block and for one larger than the room', () => {
    const input = text(100_000);
    const block = compressBlock(input, codec);
    const bad = Buffer.from(block);
    bad.fill(0xff, 5000, 5010);
    expect(codec.decompress!(bad, Buffer.alloc(input.length))).toBe(-1);
    expect(codec.decompress!(block, Buffer.alloc(input.length - 1))).toBe(-1);
    expect(codec.decompress!(block.subarray(0, block.length - 1), Buffer.alloc(input.length))).toBe(-1);
  });

  it('decodes framed chunks natively, byte for byte what tinyfile decodes, and reports a bad chunk where tinyfile finds it', () => {
    const input = Buffer.concat([text(500_000), randomBytes(70_000)]);
    const framed = compressFramed(input, codec);
    const chunks = framed.subarray(STREAM_IDENTIFIER.length);
    const native = { codec, scratch: Buffer.alloc(MAX_DATA_CHUNK_LENGTH - 4) };
    const a = Buffer.alloc(input.length);
    const b = Buffer.alloc(input.length);
    expect(decodeFrames(chunks, chunks.length, a, 0, native)).toBe(input.length);
    expect(decodeFrames(chunks, chunks.length, b)).toBe(input.length);
    expect(a.equals(input) && b.equals(input)).toBe(true);
    const bad = Buffer.from(chunks);
    bad.fill(0xff, 40_000, 40_004);
    const errs = [native, undefined].map((n) => {
      try {
        decodeFrames(bad, bad.length, Buffer.alloc(input.length), 0, n);
        return undefined;
      } catch (err) {
        return err as { code: string; offset: number; message: string };
      }
    });
    expect(errs[0]).toBeDefined();
    expect(errs[0]).toEqual(errs[1]);
    expect(errs[0]!.code).toMatch(/^ERR_TINYFILE_(CORRUPT_INPUT|BAD_CHECKSUM)$/);
  });
});
