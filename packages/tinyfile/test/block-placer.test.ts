// BlockPlacer puts the compressed pieces of a compressInto() call into the
// caller's buffer in order, whatever order they finish in, and refuses
// lengths a lying daemon could report.
import { BlockPlacer, MAX_GATHER_BYTES, ScratchPool } from '../src/client/block-gather';

/** Piece `i`'s body: `len` bytes of `i + 1`, at the start of a segment-like buffer with junk after it. */
function body(i: number, len: number): Buffer {
  const seg = Buffer.alloc(len + 16, 0xee);
  seg.fill(i + 1, 0, len);
  return seg;
}

function expected(inputLengthVarint: number[], lens: number[]): Buffer {
  return Buffer.concat([Buffer.from(inputLengthVarint), ...lens.map((n, i) => Buffer.alloc(n, i + 1))]);
}

describe('BlockPlacer', () => {
  const lens = [5, 0, 7, 3];

  it.each([
    ['in order', [0, 1, 2, 3]],
    ['in reverse', [3, 2, 1, 0]],
    ['shuffled', [2, 0, 3, 1]],
  ])('writes the varint of the input length, then the pieces arriving %s, in order, and nothing past the block', (_n, order) => {
    // At least maxCompressedLength(300) = 382 bytes, as compressInto() checks.
    const target = Buffer.alloc(400, 0xa5);
    const placer = new BlockPlacer(new ScratchPool(), 4, 10, 300, target);
    for (const i of order) placer.put(i, body(i, lens[i]!), lens[i]!);
    const n = placer.finish();
    placer.release();
    // 300 = 0xac 0x02 as a varint.
    expect(target.subarray(0, n).equals(expected([0xac, 0x02], lens))).toBe(true);
    expect(target.subarray(n).every((b) => b === 0xa5)).toBe(true);
  });

  it('keeps pieces that wait in copies of their own when a scratch would be too big', () => {
    const stride = Math.ceil(MAX_GATHER_BYTES / 2);
    const target = Buffer.alloc(64);
    const pool = new ScratchPool();
    const placer = new BlockPlacer(pool, 3, stride, 10, target);
    placer.put(2, body(2, 4), 4);
    placer.put(1, body(1, 6), 6);
    placer.put(0, body(0, 1), 1);
    const n = placer.finish();
    placer.release();
    expect(target.subarray(0, n).equals(expected([10], [1, 6, 4]))).toBe(true);
    // No scratch of 3 × stride was taken (and none given back).
    expect(pool.take(1).length).toBe(1);
  });

  it('refuses a piece longer than its bound or than the segment, and pieces that overrun the block\'s bound', () => {
    // maxCompressedLength(0) = 32: a lying daemon's pieces must not reach past it, however large the target.
    const target = Buffer.alloc(64, 0xa5);
    const placer = new BlockPlacer(new ScratchPool(), 4, 10, 0, target);
    expect(() => placer.put(0, body(0, 11), 11)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_PROTOCOL' }));
    expect(() => placer.put(0, Buffer.alloc(4), 8)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_PROTOCOL' }));
    expect(() => placer.put(0, body(0, 4), -1)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_PROTOCOL' }));
    placer.put(0, body(0, 10), 10);
    placer.put(1, body(1, 10), 10);
    placer.put(2, body(2, 10), 10);
    expect(() => placer.put(3, body(3, 10), 10)).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_PROTOCOL', message: expect.stringContaining('32 bytes') }));
    expect(target.subarray(32).every((b) => b === 0xa5)).toBe(true);
  });

  it('says which piece is missing when the call ends without it', () => {
    const placer = new BlockPlacer(new ScratchPool(), 3, 10, 20, Buffer.alloc(64));
    placer.put(0, body(0, 2), 2);
    placer.put(2, body(2, 2), 2);
    expect(() => placer.finish()).toThrow(expect.objectContaining({ code: 'ERR_TINYFILE_INTERNAL', message: 'piece 1 of the block never arrived' }));
    placer.release();
  });
});
