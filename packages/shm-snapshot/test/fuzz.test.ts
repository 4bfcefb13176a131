// fast-check: recover() on arbitrary damage, and the writer against a model.
import fc from 'fast-check';

import { SnapshotFile, SnapshotCorruptError } from '../src/index';

const PAGE = 4096;
const runs = process.env['CI'] ? 300 : 150;

function base(): Buffer {
  const buf = Buffer.alloc(6 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 32, dataBytes: 256 });
  for (let i = 0; i < 40; i++) w.commit(Buffer.alloc(1 + (i % 13), i));
  return buf;
}

const word = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: 0n, max: 300n }),
  fc.constantFrom(0n, 1n, 255n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
);

test('recover() of a damaged file throws SnapshotCorruptError or returns entries that read in bounds', () => {
  const good = base();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 4 + 64 }), word), { maxLength: 6 }),
      fc.integer({ min: 0, max: 6 * PAGE }),
      (writes, cut) => {
        const buf = Buffer.from(good);
        for (const [w, v] of writes) {
          // Words 0..3 of the head, then the first 32 entry words.
          const at = w < 4 ? 8 * w : 0x1000 + 8 * (w - 4);
          buf.writeBigUInt64LE(v, at);
        }
        const copy = Buffer.alloc(cut);
        buf.copy(copy, 0, 0, cut);
        let r;
        try {
          r = new SnapshotFile(copy).recover();
        } catch (err) {
          expect(err).toBeInstanceOf(SnapshotCorruptError);
          expect((err as SnapshotCorruptError).code).toMatch(/^ERR_SNAPSHOT_/);
          return;
        }
        if (r === null) return;
        for (const s of r.valid()) {
          const data = r.read(s);
          expect(data?.length).toBe(s.length);
        }
        expect(r.geometry.tailOffset + r.geometry.tailBytes).toBeLessThanOrEqual(cut);
      },
    ),
    { numRuns: runs },
  );
});

test('every valid entry reads back exactly what was committed; the newest commit is always valid', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 16, 64),
      fc.constantFrom(16, 64, 256, 4096),
      fc.array(fc.integer({ min: 1, max: 4095 }), { minLength: 1, maxLength: 120 }),
      (entries, dataBytes, sizes) => {
        const buf = Buffer.alloc(8 * PAGE);
        const w = new SnapshotFile(buf).configure({ entries, dataBytes });
        const committed = new Map<number, Buffer>();
        let n = 0;
        for (const raw of sizes) {
          const size = 1 + (raw % (dataBytes - 1));
          const payload = Buffer.alloc(size, n++ & 0xff);
          payload[0] = n & 0xff;
          payload[size - 1] = (n >> 8) & 0xff;
          const s = w.commit(payload);
          committed.set(s.offset, payload);
          const r = new SnapshotFile(Buffer.from(buf)).recover()!;
          const valid = r.valid();
          expect(valid[valid.length - 1]).toEqual(s);
          for (const v of valid) expect(r.read(v)?.equals(committed.get(v.offset)!)).toBe(true);
          expect(valid.length).toBeLessThanOrEqual(entries);
        }
      },
    ),
    { numRuns: runs / 3 },
  );
});
