// Our XXH64 against the spec's vector and another implementation
// (xxhash-wasm), for every way bytes reach it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import fc from 'fast-check';

import { compileWat } from '../scripts/compile-wat';
import { FileHasher } from '../src/hash';
import { Xxh64 } from '../src/xxh64/xxh64';
import { XXH64_WASM } from '../src/xxh64/xxh64-wasm';
import { loadXxhashRef } from './helpers/xxhash-ref';

let h64: (data: Uint8Array) => bigint;
beforeAll(async () => {
  h64 = (await loadXxhashRef()).h64Raw;
});

const hex = (v: bigint) => v.toString(16).padStart(16, '0');

describe('Xxh64', () => {
  it('gives the spec value for no input', () => {
    expect(new Xxh64(64).digest().toString('hex')).toBe('ef46db3751d8e999');
  });

  it('matches xxhash-wasm for every length 0-300 (tails of 0-31 bytes, with and without stripes)', () => {
    const data = crypto.randomBytes(300);
    for (let len = 0; len <= 300; len++) {
      const h = new Xxh64(64);
      h.update(data.subarray(0, len));
      expect([len, h.digest().toString('hex')]).toEqual([len, hex(h64(data.subarray(0, len)))]);
    }
  });

  it('does not depend on how the input is split, fed by update() or through the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1 }), fc.integer({ min: 32, max: 600 }), (bytes, cuts, window) => {
        const byUpdate = new Xxh64(window);
        const inPlace = new Xxh64(window);
        for (let at = 0, k = 0; at < bytes.length; k++) {
          const piece = bytes.subarray(at, at + cuts[k % cuts.length]!);
          byUpdate.update(piece);
          for (let p = 0; p < piece.length; p += window) {
            const part = piece.subarray(p, p + window);
            inPlace.window.set(part);
            inPlace.hashWindow(part.length);
          }
          at += piece.length;
        }
        const want = hex(h64(bytes));
        expect(byUpdate.digest().toString('hex')).toBe(want);
        expect(inPlace.digest().toString('hex')).toBe(want);
      }),
      { numRuns: process.env['CI'] ? 300 : 100 },
    );
  });

  it('leaves the state alone in digest(), so hashing can go on', () => {
    const data = crypto.randomBytes(1000);
    const h = new Xxh64(64);
    h.update(data.subarray(0, 500));
    expect(h.digest().toString('hex')).toBe(hex(h64(data.subarray(0, 500))));
    h.update(data.subarray(500));
    expect(h.digest().toString('hex')).toBe(hex(h64(data)));
  });

  it('refuses a window too small for a stripe and a count outside the window', () => {
    expect(() => new Xxh64(31)).toThrow(RangeError);
    const h = new Xxh64(64);
    expect(() => h.hashWindow(65)).toThrow(/outside the 64-byte window/);
    expect(() => h.hashWindow(-1)).toThrow(RangeError);
  });

  it('hashes a file read straight into its window (FileHasher), in bounded steps', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-xxh64-'));
    try {
      const file = path.join(dir, 'f');
      const data = crypto.randomBytes(3 * 256 * 1024 + 1001);
      fs.writeFileSync(file, data);
      const fd = fs.openSync(file, 'r');
      try {
        const h = new FileHasher(fd, 3);
        expect(h.advance(data.length, 100_000)).toBe(true);
        expect(h.hashed).toBe(100_000);
        expect(h.advance(data.length)).toBe(true);
        expect(h.digest().toString('hex')).toBe(hex(h64(data)));
        expect(new FileHasher(fd, 3).advance(data.length + 1)).toBe(false);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships exactly the bytes that xxh64.wat compiles to', async () => {
    const wat = fs.readFileSync(path.join(__dirname, '..', 'src', 'xxh64', 'xxh64.wat'), 'utf8');
    expect(Buffer.from(await compileWat(wat)).equals(Buffer.from(XXH64_WASM))).toBe(true);
  });
});
