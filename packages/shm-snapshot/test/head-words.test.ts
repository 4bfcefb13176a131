// Every word of the head is checked against what a writer can produce: a
// damaged word is refused with a SnapshotCorruptError, or it changes nothing
// a reader sees. It never turns committed entries into silent history.
import fs from 'node:fs';

import { SharedFd } from '@shmkit/shm-fd';

import { MAX_WRITE_OFFSET, SnapshotCorruptError, SnapshotFile, SnapshotPayloadError } from '../src/index';

const PAGE = 4096;
const VERSION = 0;
const ENTRY_MASK = 8;
const PAGE_MASK = 16;
const WRITE_OFFSET = 24;

/** Our writer's file after enough commits to wrap the 64-byte ring several times. */
function committed(): Buffer {
  const buf = Buffer.alloc(4 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 8, dataBytes: 64 });
  for (let i = 0; i < 30; i++) w.commit(Buffer.alloc(1 + (i % 13), 0x41 + i));
  return buf;
}

/** What a reader sees: every valid entry with its payload. */
function view(buf: Buffer): string[] {
  const r = new SnapshotFile(buf).recover();
  if (r === null) return ['unconfigured'];
  return r.valid().map((s) => `${s.slot}:${s.offset}:${s.length}:${r.read(s)?.toString('hex')}`);
}

/** The error code recover() throws, or null when it accepts the file. */
function refusal(buf: Buffer): string | null {
  try {
    new SnapshotFile(buf).recover();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotCorruptError);
    return (err as SnapshotCorruptError).code;
  }
}

const flipped = (at: number, bit: number) => {
  const buf = committed();
  buf.writeBigUInt64LE(buf.readBigUInt64LE(at) ^ (1n << BigInt(bit)), at);
  return buf;
};

const bits = Array.from({ length: 64 }, (_, i) => i);

describe('a bit flip in any head word is refused or changes nothing', () => {
  const good = view(committed());

  test.each([
    ['version', VERSION, ['ERR_SNAPSHOT_BAD_MAGIC']],
    ['entry_mask', ENTRY_MASK, ['ERR_SNAPSHOT_BAD_MASK', 'ERR_SNAPSHOT_TRUNCATED']],
    ['page_write_offset', WRITE_OFFSET, ['ERR_SNAPSHOT_OFFSET_RANGE', 'ERR_SNAPSHOT_BAD_ENTRY']],
  ])('%s', (_name, at, codes) => {
    expect(good.length).toBeGreaterThan(3);
    for (const bit of bits) {
      const buf = flipped(at as number, bit);
      const code = refusal(buf);
      if (code === null) expect([bit, view(buf)]).toEqual([bit, good]);
      else expect([bit, codes]).toEqual([bit, expect.arrayContaining([code])]);
    }
  });

  test('page_mask: every flip that leaves no 2^k − 1 the file can hold is refused', () => {
    // 63 → 31 and 63 → 127 are masks of a ring that fits: v1 has no
    // redundancy to tell those apart from a reconfigured file.
    for (const bit of bits.filter((b) => b !== 5 && b !== 6)) {
      expect([bit, refusal(flipped(PAGE_MASK, bit))]).toEqual([bit, expect.stringMatching(/^ERR_SNAPSHOT_(BAD_MASK|TRUNCATED)$/)]);
    }
  });

  test('a high bit of the write offset no longer drops every entry', () => {
    const buf = flipped(WRITE_OFFSET, 40);
    expect(() => new SnapshotFile(buf).recover()).toThrow(/past the end of the newest entry.*the head is corrupt/);
    // openWriter() refuses too: nothing is reconfigured or cleared.
    const before = Buffer.from(buf);
    expect(() => new SnapshotFile(buf).openWriter({ entries: 8, dataBytes: 64 })).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_OFFSET_RANGE' }));
    expect(buf.equals(before)).toBe(true);
  });
});

describe('page_write_offset', () => {
  const newestEnd = (buf: Buffer) => Number(buf.readBigUInt64LE(WRITE_OFFSET));

  test.each([
    ['2^53 − 1', 2n ** 53n - 1n],
    ['2^53', 2n ** 53n],
    ['one past the limit', BigInt(MAX_WRITE_OFFSET) + 1n],
    ['2^64 − 1', 2n ** 64n - 1n],
  ])('near or beyond 2^53 (%s) is refused', (_what, value) => {
    const buf = committed();
    buf.writeBigUInt64LE(value, WRITE_OFFSET);
    expect(refusal(buf)).toBe('ERR_SNAPSHOT_OFFSET_RANGE');
    // Also with no entry at all, where nothing else bounds it.
    const empty = Buffer.alloc(4 * PAGE);
    new SnapshotFile(empty).configure({ entries: 8, dataBytes: 64 });
    empty.writeBigUInt64LE(value, WRITE_OFFSET);
    expect(refusal(empty)).toBe('ERR_SNAPSHOT_OFFSET_RANGE');
  });

  test('a whole ring past the newest entry is refused; one payload short of it is a commit cut short and reads the same', () => {
    const good = view(committed());
    const far = committed();
    far.writeBigUInt64LE(BigInt(newestEnd(far) + 64), WRITE_OFFSET);
    expect(refusal(far)).toBe('ERR_SNAPSHOT_OFFSET_RANGE');
    // A writer killed after storing the write offset of a 40-byte payload,
    // before its entry: it had invalidated what the payload overwrites (a
    // declined commit does exactly that much), so the rest reads back whole.
    const cut = Buffer.alloc(4 * PAGE);
    const w = new SnapshotFile(cut).configure({ entries: 8, dataBytes: 64 });
    for (let i = 0; i < 30; i++) w.commit(Buffer.alloc(1 + (i % 13), 0x41 + i));
    const end = newestEnd(cut);
    expect(w.commitWith(Buffer.alloc(40, 0x7a), () => false)).toBeNull();
    cut.writeBigUInt64LE(BigInt(end + 40), WRITE_OFFSET);
    expect(refusal(cut)).toBeNull();
    const left = view(cut);
    expect(left.length).toBeGreaterThan(0);
    expect(left).toEqual(good.filter((line) => Number(line.split(':')[1]) >= end + 40 - 64));
  });

  test('a write offset that would make an entry history without any entry reaching past it is refused', () => {
    const buf = committed();
    const oldest = new SnapshotFile(buf).recover()!.valid()[0]!;
    buf.writeBigUInt64LE(BigInt(oldest.offset + 64 + 1), WRITE_OFFSET);
    expect(refusal(buf)).toBe('ERR_SNAPSHOT_OFFSET_RANGE');
  });

  test('a writer stops at the limit instead of storing an offset readers refuse', () => {
    const buf = Buffer.alloc(4 * PAGE);
    new SnapshotFile(buf).configure({ entries: 8, dataBytes: 64 });
    buf.writeBigUInt64LE(BigInt(MAX_WRITE_OFFSET - 5), WRITE_OFFSET);
    const w = new SnapshotFile(buf).recover()!.writer();
    expect(() => w.commit(Buffer.alloc(6))).toThrow(SnapshotPayloadError);
    expect(() => w.commit(Buffer.alloc(6))).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_STREAM_FULL' }));
    expect(w.commit(Buffer.from('12345'))).toEqual({ slot: 0, offset: MAX_WRITE_OFFSET - 5, length: 5 });
    const r = new SnapshotFile(buf).recover()!;
    expect(r.configuration.writeOffset).toBe(MAX_WRITE_OFFSET);
    expect(r.valid().map((s) => r.read(s)?.toString())).toEqual(['12345']);
  });
});

describe('masks', () => {
  test('a shrunken entry_mask that would hide used slots is refused', () => {
    const buf = committed();
    buf.writeBigUInt64LE(3n, ENTRY_MASK);
    expect(() => new SnapshotFile(buf).recover()).toThrow(/entry slot \d+ holds data but entry_mask declares only 4 entries/);
  });

  test('a 1-byte ring (page_mask 0) is refused', () => {
    const buf = committed();
    buf.writeBigUInt64LE(0n, PAGE_MASK);
    expect(refusal(buf)).toBe('ERR_SNAPSHOT_BAD_MASK');
  });

  test('more entries than configure() lays out is refused before any entry is read, even when the file is large enough', () => {
    // A sparse 513 MiB memfd: the mapping is never touched past the head.
    const shared = SharedFd.create({ size: PAGE * (1 + 2 ** 25 / 256 + 1) });
    const head = Buffer.alloc(32);
    head.writeBigUInt64LE(0x96c2a6f4b68519b3n, VERSION);
    head.writeBigUInt64LE(2n ** 25n - 1n, ENTRY_MASK);
    head.writeBigUInt64LE(63n, PAGE_MASK);
    fs.writeSync(shared.fd, head, 0, 32, 0);
    const file = SnapshotFile.map(shared);
    try {
      expect(() => file.recover()).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_BAD_MASK', message: expect.stringMatching(/more than the 16777216/) }));
    } finally {
      file.close();
      shared.close();
    }
  });
});
