// Our compressor must make snappyjs's choices exactly: same bytes out, for
// every size class of the hash table, every fragment boundary and inputs
// from incompressible to one long run.
import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import { SnappyCompressor } from 'snappyjs/snappy_compressor';
import * as snappyjs from 'snappyjs';

import { codecByName, compressBlock, jsCodec, maxCompressedLength } from '../src/codec';
import { compressRaw } from '../src/codec/raw-encoder';

function theirs(input: Uint8Array): Buffer {
  const out = Buffer.alloc(maxCompressedLength(input.length));
  return out.subarray(0, new SnappyCompressor(input).compressToBuffer(out));
}

function ours(input: Uint8Array): Buffer {
  const out = Buffer.alloc(maxCompressedLength(input.length));
  return out.subarray(0, compressRaw(input, out));
}

/** Words from a small vocabulary: matches of every length and offset. */
function text(n: number, seed: number): Buffer {
  const words = ['shared ', 'memory ', 'snappy ', 'daemon\n', 'a ', 'segment ', 'doorbell ', 'q'];
  const out = Buffer.allocUnsafe(n);
  let x = seed;
  for (let at = 0; at < n; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    at += out.write(words[x % words.length]!, at);
  }
  return out;
}

describe('compressRaw', () => {
  it.each([0, 1, 2, 3, 4, 14, 15, 16, 17, 31, 32, 33, 100, 4095, 4096, 16_383, 16_384, 16_385, 65_535, 65_536, 65_537, 65_536 + 15, 65_536 + 16, 200_000])(
    'writes what snappyjs writes for %d bytes of text, random bytes and zeros',
    (n) => {
      for (const input of [text(n, n + 1), randomBytes(n), Buffer.alloc(n)]) {
        const mine = ours(input);
        expect(mine.equals(theirs(input))).toBe(true);
        expect(Buffer.from(snappyjs.uncompress(mine)).equals(input)).toBe(true);
      }
    },
  );

  it('writes what snappyjs writes for arbitrary mixes of runs, repeats and noise', () => {
    const piece = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), n: fc.integer({ min: 1, max: 5000 }) }).map(({ byte, n }) => new Uint8Array(n).fill(byte)),
      fc.record({ back: fc.integer({ min: 1, max: 70_000 }), n: fc.integer({ min: 1, max: 3000 }) }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const parts: number[] = [];
        for (const p of pieces) {
          if (p instanceof Uint8Array) parts.push(...p);
          else for (let i = 0; i < p.n; i++) parts.push(parts.length >= p.back ? parts[parts.length - p.back]! : i & 0xff);
        }
        const input = Uint8Array.from(parts);
        expect(ours(input).equals(theirs(input))).toBe(true);
      }),
      { numRuns: process.env['CI'] ? 300 : 100 },
    );
  });

  it("picks the table slots of snappyjs's double-precision hash, which a 32-bit multiply misses for ~1 key in 7000", () => {
    // Two keys that share a slot under snappyjs's hash but not under
    // Math.imul: the second overwrites the first, so snappyjs finds no match
    // where a 32-bit hash would find one.
    const hashD = (k: number) => (k * 0x1e35a7bd) >>> 18;
    const hashI = (k: number) => Math.imul(k, 0x1e35a7bd) >>> 18;
    let x = 1;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) | 0);
    let k1: number;
    let k2: number;
    do k1 = next();
    while (hashD(k1) === hashI(k1));
    do k2 = next();
    while (!(hashD(k2) === hashD(k1) && hashI(k2) === hashD(k2)));
    // 20 000 bytes: a 14-bit table (shift 18); keys at 1, 5 and 20, probed one by one.
    const input = Buffer.alloc(20_000);
    for (let i = 0; i < input.length; i++) input[i] = next() >>> 24;
    input.writeInt32LE(k1, 1);
    input.writeInt32LE(k2, 5);
    input.writeInt32LE(k1, 20);
    expect(ours(input).equals(theirs(input))).toBe(true);
  });

  it('finds a match starting at the last position one may start (15 bytes before the end)', () => {
    let copies = 0;
    for (let size = 20; size < 48; size++) {
      const input = Buffer.from(Array.from({ length: size }, (_, i) => (i * 37 + 11) & 0xff));
      input.write('abcd', 1, 'latin1');
      input.write('abcd', size - 15, 'latin1');
      const block = ours(input);
      expect([size, block.toString('hex')]).toEqual([size, theirs(input).toString('hex')]);
      // Shorter than all literal (preamble, tag, bytes): the match was taken.
      if (block.length < size + 2) copies++;
    }
    // Tiny tables collide now and then, so not every size finds it.
    expect(copies).toBeGreaterThan(10);
  });

  it('reads a view where it lies in its buffer and writes nothing past the block', () => {
    const backing = text(300_000, 7);
    const view = backing.subarray(12_345, 12_345 + 150_001);
    const out = Buffer.alloc(maxCompressedLength(view.length) + 64, 0xee);
    const n = compressRaw(view, out.subarray(0, maxCompressedLength(view.length)));
    expect(out.subarray(0, n).equals(theirs(view))).toBe(true);
    expect(out.subarray(maxCompressedLength(view.length)).every((b) => b === 0xee)).toBe(true);
  });

  it('is the codec of compressBlock, and of tinyd when libsnappy does not load', () => {
    expect(codecByName('js')).toBe(jsCodec);
    const input = text(100_000, 3);
    expect(compressBlock(input).equals(theirs(input))).toBe(true);
    expect(() => codecByName('zstd')).toThrow(/use auto, libsnappy, js, snappyjs, native/);
  });
});
