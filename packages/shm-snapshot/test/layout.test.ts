// Byte-level test vectors: files built from known commits, compared with the
// v1 layout of shared/formats/shm-fd-and-shm-snapshot.md §2 written out by
// hand (offsets and values below come from the spec, not from the code).
import { SnapshotFile, SnapshotCorruptError, MAGIC } from '../src/index';

const PAGE = 4096;

function file(pages: number): Buffer {
  // Larger than Buffer's pool threshold, so 8-byte aligned like a mapping.
  return Buffer.alloc(pages * PAGE);
}

function u64(buf: Buffer, at: number): bigint {
  return buf.readBigUInt64LE(at);
}

describe('v1 layout vectors', () => {
  test('the head page after configure({ entries: 16, dataBytes: 128 })', () => {
    const buf = file(5);
    new SnapshotFile(buf).configure({ entries: 16, dataBytes: 128 });
    expect([...buf.subarray(0, 8)]).toEqual([0xb3, 0x19, 0x85, 0xb6, 0xf4, 0xa6, 0xc2, 0x96]);
    expect(u64(buf, 0)).toBe(MAGIC);
    expect(u64(buf, 0x08)).toBe(15n); // entry_mask
    expect(u64(buf, 0x10)).toBe(127n); // page_mask, in bytes
    expect(u64(buf, 0x18)).toBe(0n); // page_write_offset
    expect(buf.subarray(0x20, 0x1000).every((b) => b === 0)).toBe(true);
  });

  test('two commits land in slots 0 and 1 and in the ring at page 2', () => {
    const buf = file(5);
    const w = new SnapshotFile(buf).configure({ entries: 16, dataBytes: 128 });
    const a = w.commit(Buffer.from('Hello, world!'));
    const b = w.commit(Buffer.from('abc'));
    expect(a).toEqual({ slot: 0, offset: 0, length: 13 });
    expect(b).toEqual({ slot: 1, offset: 13, length: 3 });
    expect(u64(buf, 0x18)).toBe(16n);
    expect(u64(buf, 0x1000)).toBe(0n);
    expect(u64(buf, 0x1008)).toBe(13n);
    expect(u64(buf, 0x1010)).toBe(13n);
    expect(u64(buf, 0x1018)).toBe(3n);
    // 16 entries fit one sequence page, so the ring starts at D = 4096 * 2.
    expect(buf.subarray(0x2000, 0x2000 + 16).toString()).toBe('Hello, world!abc');
    expect(w.geometry).toMatchObject({ dataOffset: 0x2000, tailOffset: 0x3000, tailBytes: 2 * PAGE });
  });

  test('a payload wraps around the end of the ring', () => {
    const buf = file(4);
    const w = new SnapshotFile(buf).configure({ entries: 4, dataBytes: 16 });
    w.commit(Buffer.from('0123456789')); // [0, 10)
    w.commit(Buffer.from('ABCDEFGH')); // [10, 18): 6 bytes at the end, 2 at the start
    expect(buf.subarray(0x2000, 0x2010).toString()).toBe('GH23456789ABCDEF');
    // The first payload lost bytes 0..1, so its entry was invalidated first.
    expect(u64(buf, 0x1008)).toBe(0n);
    expect(u64(buf, 0x1010)).toBe(10n);
    expect(u64(buf, 0x1018)).toBe(8n);
    expect(u64(buf, 0x18)).toBe(18n);
    const r = new SnapshotFile(buf).recover();
    expect(r?.valid()).toEqual([{ slot: 1, offset: 10, length: 8 }]);
    expect(r?.read({ slot: 1, offset: 10, length: 8 })?.toString()).toBe('ABCDEFGH');
  });

  test('every slot is used in turn and the reused slot is invalidated', () => {
    const buf = file(4);
    const w = new SnapshotFile(buf).configure({ entries: 4, dataBytes: 1024 });
    for (let i = 0; i < 6; i++) w.commit(Buffer.from([i, i, i, i]));
    // Slots 0..3, then 0 and 1 again: entries 2..5 remain.
    expect(w.valid().map((s) => s.slot)).toEqual([2, 3, 0, 1]);
    expect(u64(buf, 0x1000)).toBe(16n);
    expect(u64(buf, 0x1010)).toBe(20n);
    const r = new SnapshotFile(buf).recover();
    expect(r?.valid().map((s) => r.read(s)?.[0])).toEqual([2, 3, 4, 5]);
  });

  test('257 entries take two sequence pages and move the ring', () => {
    const buf = file(8);
    const w = new SnapshotFile(buf).configure({ entries: 512, dataBytes: 8192 });
    expect(w.geometry).toMatchObject({ sequencePages: 2, dataOffset: 3 * PAGE, ringPages: 2, tailOffset: 5 * PAGE });
    for (let i = 0; i < 300; i++) w.commit(Buffer.from([i & 0xff]));
    expect(u64(buf, 0x1000 + 16 * 299)).toBe(299n);
    expect(u64(buf, 0x1000 + 16 * 299 + 8)).toBe(1n);
    expect(buf[3 * PAGE + 299]).toBe(299 & 0xff);
  });

  test('a file laid out by the Rust writer (slot 0 only, no invalidation) is read', () => {
    // What HeroicKatora/shmfd@5b87162 leaves after primes-snapshot committed
    // three 8-byte big-endian counts: entries 0x100, data 0x800.
    const buf = file(6);
    buf.writeBigUInt64LE(MAGIC, 0);
    buf.writeBigUInt64LE(0xffn, 8);
    buf.writeBigUInt64LE(0x7ffn, 16);
    buf.writeBigUInt64LE(24n, 24);
    for (const [i, v] of [2n, 7n, 11n].entries()) buf.writeBigUInt64BE(v, 0x2000 + 8 * i);
    buf.writeBigUInt64LE(16n, 0x1000);
    buf.writeBigUInt64LE(8n, 0x1008);
    const r = new SnapshotFile(buf).recover();
    expect(r?.configuration).toEqual({ entries: 256, dataBytes: 2048, writeOffset: 24 });
    expect(r?.geometry).toMatchObject({ dataOffset: 0x2000, tailOffset: 0x3000, tailBytes: 3 * PAGE });
    const newest = r?.newest();
    expect(newest).toEqual({ slot: 0, offset: 16, length: 8 });
    expect(r?.read(newest!)?.readBigUInt64BE(0)).toBe(11n);
    // Our writer continues it: slot 1, at the recorded offset.
    const w = r!.writer();
    expect(w.commit(Buffer.alloc(8, 1))).toEqual({ slot: 1, offset: 24, length: 8 });
    expect(w.valid().map((s) => s.slot)).toEqual([0, 1]);
  });

  test('a file too small for the head is refused by configure()', () => {
    const buf = file(2);
    expect(() => new SnapshotFile(buf).configure({ entries: 16, dataBytes: 8192 })).toThrow(
      expect.objectContaining({ code: 'ERR_SNAPSHOT_FILE_TOO_SMALL' }),
    );
    expect(() => new SnapshotFile(buf).configure({ entries: 3, dataBytes: 8 })).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_BAD_CONFIG' }));
  });

  test('a fresh or empty file recovers as unconfigured', () => {
    expect(new SnapshotFile(file(3)).recover()).toBeNull();
    expect(new SnapshotFile(Buffer.alloc(0)).recover()).toBeNull();
    expect(SnapshotCorruptError).toBeDefined();
  });
});
