import { randomBytes } from 'node:crypto';

import * as snappyjs from 'snappyjs';

import {
  compressBlock,
  compressFramed,
  crc32c,
  decodeRawStep,
  decompressBlock,
  decompressFramed,
  FrameSplitter,
  HISTORY,
  initialDecodeState,
  maskChecksum,
  readVarint,
  snappyjsCodec,
  STREAM_IDENTIFIER,
} from '../src/codec';

function text(n: number): Buffer {
  const words = ['shared', 'memory', 'snappy', 'daemon', 'segment', 'doorbell', 'queue', 'client', '\n'];
  let s = '';
  let i = 0;
  while (s.length < n) s += words[(i++ * 7919) % words.length] + ' ';
  return Buffer.from(s.slice(0, n));
}

describe('crc32c', () => {
  it('matches the published check value and RFC 3720 vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });
  it('is the same whether computed at once or in pieces', () => {
    const b = randomBytes(1000);
    expect(crc32c(b, 300, 1000, crc32c(b, 0, 300))).toBe(crc32c(b));
  });
  it('masks as the framing format says', () => {
    expect(maskChecksum(0)).toBe(0xa282ead8);
  });
});

describe('raw blocks', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([7])],
    ['text', text(300_000)],
    ['random', randomBytes(200_000)],
    ['zeros', Buffer.alloc(150_000)],
  ])('round-trips %s and agrees with snappyjs', (_name, input) => {
    const block = compressBlock(input);
    expect(Buffer.from(snappyjs.uncompress(block)).equals(input)).toBe(true);
    expect(decompressBlock(block).equals(input)).toBe(true);
  });

  it('decodes in arbitrary pieces with only 64 KiB of history', () => {
    const input = text(400_000);
    const block = compressBlock(input);
    const { value, next } = readVarint(block);
    const result = Buffer.alloc(value);
    const state = initialDecodeState();
    let inPos = next;
    let produced = 0;
    let step = 1;
    while (produced < value) {
      const hist = Math.min(HISTORY, produced);
      const work = Buffer.alloc(hist + 70_000);
      result.copy(work, 0, produced - hist, produced);
      const inEnd = Math.min(block.length, inPos + 1 + ((step * 7919) % 50_000));
      const outEnd = hist + Math.min(1 + ((step * 104729) % 70_000), value - produced);
      const r = decodeRawStep(block, inPos, inEnd, work, hist, outEnd, state);
      work.copy(result, produced, hist, r.outPos);
      produced += r.outPos - hist;
      inPos = r.inPos;
      step++;
      expect(step).toBeLessThan(10_000);
    }
    expect(result.equals(input)).toBe(true);
  });

  it('decodes every short literal and every copy offset / length combination as snappyjs does, whole and in small pieces', () => {
    // Random valid element streams rather than compressor output: they reach
    // the word-copy paths with offsets below 8 (self-overlapping patterns),
    // copies ending right at the output's end and literals at the input's end.
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 200; round++) {
      const body: number[] = [];
      let produced = 0;
      const elements = 1 + rand(60);
      for (let e = 0; e < elements; e++) {
        if (produced === 0 || rand(3) === 0) {
          const n = 1 + rand(round % 2 === 0 ? 20 : 70);
          if (n <= 60) body.push((n - 1) << 2);
          else body.push(60 << 2, n - 1);
          for (let i = 0; i < n; i++) body.push(rand(256));
          produced += n;
        } else if (rand(2) === 0) {
          const n = 4 + rand(8);
          const off = 1 + rand(Math.min(produced, 2047));
          body.push(1 | ((n - 4) << 2) | ((off >> 8) << 5), off & 0xff);
          produced += n;
        } else {
          const n = 1 + rand(64);
          const off = 1 + rand(Math.min(produced, 24));
          body.push(2 | ((n - 1) << 2), off & 0xff, off >> 8);
          produced += n;
        }
      }
      const pre: number[] = [];
      for (let v = produced; ; v >>>= 7) {
        if (v < 0x80) {
          pre.push(v);
          break;
        }
        pre.push((v & 0x7f) | 0x80);
      }
      const block = Buffer.from([...pre, ...body]);
      const expected = Buffer.from(snappyjs.uncompress(block));
      expect(decompressBlock(block).equals(expected)).toBe(true);
      // In pieces: input and output windows of a few bytes, output in a larger buffer.
      const out = Buffer.alloc(produced + 32, 0xee);
      const state = initialDecodeState();
      let inPos = pre.length;
      let outPos = 0;
      for (let guard = 0; outPos < produced || inPos < block.length; guard++) {
        expect(guard).toBeLessThan(100_000);
        const r = decodeRawStep(block, inPos, Math.min(block.length, inPos + 1 + rand(30)), out, outPos, Math.min(produced, outPos + 1 + rand(40)), state);
        inPos = r.inPos;
        outPos = r.outPos;
      }
      expect(out.subarray(0, produced).equals(expected)).toBe(true);
      expect(out.subarray(produced).every((b) => b === 0xee)).toBe(true);
    }
  });

  it.each([
    ['a copy before the start', Buffer.from([4, 0x01, 0x02])],
    ['a truncated literal', Buffer.from([10, 0x24, 1, 2])],
    ['more data than declared', Buffer.from([1, 0x04, 1, 2])],
    ['a huge declared literal', Buffer.from([5, 0xfc, 0xff, 0xff, 0xff, 0xff, 1])],
    ['a copy of offset 0', Buffer.from([8, 0x00, 0x61, 0x05, 0x00])],
    ['a varint longer than 32 bits', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
  ])('rejects %s with ERR_TINYFILE_CORRUPT_INPUT', (_name, block) => {
    expect(() => decompressBlock(block)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_CORRUPT_INPUT' }));
  });

  it('refuses declared lengths above maxOutputLength before allocating', () => {
    expect(() => decompressBlock(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), 1000)).toThrow(
      expect.objectContaining({ code: 'ERR_TINYFILE_TOO_LARGE' }),
    );
  });

  it('never loops or throws anything but CorruptInputError on random garbage', () => {
    for (let i = 0; i < 300; i++) {
      const g = randomBytes(1 + (i % 64));
      g[0] = i % 100; // small declared length
      try {
        decompressBlock(g);
      } catch (err) {
        expect((err as { code: string }).code).toMatch(/^ERR_TINYFILE_(CORRUPT_INPUT|WINDOW)$/);
      }
    }
  });
});

describe('framing', () => {
  it('starts with the stream identifier and round-trips', () => {
    const input = Buffer.concat([text(100_000), randomBytes(70_000)]);
    const framed = compressFramed(input, snappyjsCodec);
    expect(framed.subarray(0, 10)).toEqual(STREAM_IDENTIFIER);
    expect(decompressFramed(framed).equals(input)).toBe(true);
  });

  it('splits at any push boundary into batches of whole chunks', () => {
    const input = text(500_000);
    const framed = compressFramed(input);
    const splitter = new FrameSplitter(200_000, 200_000);
    const parts: Buffer[] = [];
    for (let at = 0; at < framed.length; ) {
      const n = 1 + ((at * 31) % 9000);
      for (const b of splitter.push(framed.subarray(at, at + n))) parts.push(decompressFramed(Buffer.concat([STREAM_IDENTIFIER, b.data])));
      at += n;
    }
    splitter.end();
    expect(Buffer.concat(parts).equals(input)).toBe(true);
  });

  it('skips padding and skippable chunks, rejects reserved unskippable ones', () => {
    const body = compressFramed(Buffer.from('hello')).subarray(10);
    const padded = Buffer.concat([STREAM_IDENTIFIER, Buffer.from([0xfe, 3, 0, 0, 0, 0, 0]), Buffer.from([0x80, 1, 0, 0, 9]), body]);
    expect(decompressFramed(padded).toString()).toBe('hello');
    const bad = Buffer.concat([STREAM_IDENTIFIER, Buffer.from([0x02, 1, 0, 0, 9])]);
    expect(() => decompressFramed(bad)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_CORRUPT_INPUT' }));
  });

  it('detects a flipped bit with ERR_TINYFILE_BAD_CHECKSUM', () => {
    const framed = compressFramed(randomBytes(1000));
    framed[framed.length - 1]! ^= 1; // stored uncompressed: the data decodes, the checksum does not match
    expect(() => decompressFramed(framed)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_BAD_CHECKSUM' }));
  });

  it('rejects input that is not framed, and truncated streams', () => {
    expect(() => decompressFramed(Buffer.from('plain text, not snappy'))).toThrow(/stream identifier/);
    const framed = compressFramed(text(1000));
    expect(() => decompressFramed(framed.subarray(0, framed.length - 3))).toThrow(/truncated/);
  });
});
