import { randomBytes } from 'node:crypto';

import { compressBlock, decompressBlock } from '../src/codec';
import { decodeRawStep, initialDecodeState } from '../src/codec/raw-decoder';
import { splitRawBlock, type RawPiece } from '../src/codec/raw-split';
import { readVarint } from '../src/codec/varint';

function text(n: number): Buffer {
  let s = '';
  for (let i = 0; s.length < n; i++) s += `entry ${i % 4099} of the splitter test, value ${(i * 7919) % 104729}\n`;
  return Buffer.from(s.slice(0, n));
}

/** Decodes one piece alone, with no history, as tinyd does. */
function decodePiece(block: Buffer, p: RawPiece): Buffer {
  const out = Buffer.alloc(p.outEnd - p.outStart);
  const r = decodeRawStep(block, p.inStart, p.inEnd, out, 0, out.length, initialDecodeState());
  expect(r).toEqual({ inPos: p.inEnd, outPos: out.length });
  return out;
}

const wide = { target: 65536, maxIn: 1 << 30, maxOut: 1 << 30 };

describe('splitRawBlock', () => {
  it.each([
    ['text', text(1 << 20)],
    ['random bytes', randomBytes(700_000)],
    ['a long run of one byte', Buffer.alloc(500_000, 7)],
  ])('cuts %s into contiguous pieces that each decode alone to their slice', (_n, input) => {
    const block = compressBlock(input);
    const { value, next } = readVarint(block);
    const pieces = splitRawBlock(block, next, value, wide);
    expect(pieces).not.toBeNull();
    expect(pieces!.length).toBeGreaterThan(1);
    let inAt = next;
    let outAt = 0;
    for (const p of pieces!) {
      expect([p.inStart, p.outStart]).toEqual([inAt, outAt]);
      expect(p.outEnd - p.outStart).toBeGreaterThanOrEqual(p === pieces!.at(-1) ? 1 : wide.target);
      expect(decodePiece(block, p).equals(input.subarray(p.outStart, p.outEnd))).toBe(true);
      inAt = p.inEnd;
      outAt = p.outEnd;
    }
    expect([inAt, outAt]).toEqual([block.length, input.length]);
  });

  it('merges a piece into the one before when a copy reaches back past its start', () => {
    // A 70000-byte literal, then a copy of 64 bytes from its very beginning:
    // the cut after the literal would leave the copy without its source.
    const lit = randomBytes(70_000);
    const block = Buffer.concat([
      Buffer.from([0xb0, 0xa3, 0x04]), // varint 70064
      Buffer.from([62 << 2, (70_000 - 1) & 0xff, ((70_000 - 1) >> 8) & 0xff, (70_000 - 1) >> 16]),
      lit,
      Buffer.from([3 | (63 << 2), 0x70, 0x11, 0x01, 0x00]), // copy-4, length 64, offset 70000
    ]);
    const { value, next } = readVarint(block);
    expect(value).toBe(70_064);
    const pieces = splitRawBlock(block, next, value, wide);
    expect(pieces).toEqual([{ inStart: next, inEnd: block.length, outStart: 0, outEnd: 70_064 }]);
    expect(decompressBlock(block).equals(Buffer.concat([lit, lit.subarray(0, 64)]))).toBe(true);
  });

  it('refuses pieces larger than the limits', () => {
    const block = compressBlock(text(300_000));
    const { value, next } = readVarint(block);
    expect(splitRawBlock(block, next, value, { target: 65536, maxIn: 1 << 30, maxOut: 50_000 })).toBeNull();
  });

  it.each([
    ['a truncated literal', Buffer.from([10, 9 << 2, 1, 2, 3])],
    ['a copy with offset 0', Buffer.from([8, 0, 65, 1, 0])],
    ['a copy reaching before the output', Buffer.from([8, 0, 65, 1 | (0 << 2), 5])],
    ['less output than declared', Buffer.from([9, 0, 65])],
    ['more output than declared', Buffer.from([1, 4, 65, 66])],
    ['a truncated copy tag', Buffer.from([8, 0, 65, 2])],
  ])('returns null for %s (the sequential decoder reports it)', (_n, block) => {
    const { value, next } = readVarint(block);
    expect(splitRawBlock(block, next, value, wide)).toBeNull();
  });

  it('never throws on random or mutated input, and whatever it accepts decodes as the whole block does', () => {
    const good = compressBlock(text(200_000));
    // Seeded, so that a failure names the case that broke.
    const seed = Date.now() % 100000;
    let state = seed;
    const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let i = 0; i < 300; i++) {
      const block = Buffer.from(good);
      if (i % 2 === 0) for (let k = 0; k < block.length && k < 1 + (i % 97) * 31; k++) block[k] = Math.floor(rand() * 256);
      else for (let k = 0; k < 4; k++) block[1 + Math.floor(rand() * (block.length - 1))] = Math.floor(rand() * 256);
      const input = i % 2 === 0 ? block.subarray(0, 1 + (i % 97) * 31) : block;
      let declared: number;
      let next: number;
      try {
        ({ value: declared, next } = readVarint(input));
      } catch {
        continue;
      }
      if (declared > 1 << 24) continue;
      const pieces = splitRawBlock(input, next, declared, { target: 4096, maxIn: 1 << 30, maxOut: 1 << 30 });
      if (pieces === null) continue;
      const whole = decompressBlock(input);
      for (const p of pieces) expect({ seed, i, same: decodePiece(input, p).equals(whole.subarray(p.outStart, p.outEnd)) }).toEqual({ seed, i, same: true });
    }
  });
});
