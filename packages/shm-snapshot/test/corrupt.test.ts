// recover() on broken files: a code naming the broken rule, never a
// TypeError or a read outside the file.
import { SnapshotFile, SnapshotCorruptError, ShmSnapshotError, MAGIC } from '../src/index';

const PAGE = 4096;

function valid(): Buffer {
  const buf = Buffer.alloc(4 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 8, dataBytes: 64 });
  w.commit(Buffer.from('first'));
  w.commit(Buffer.from('second'));
  return buf;
}

function codeOf(buf: Uint8Array): string {
  try {
    new SnapshotFile(buf).recover();
  } catch (err) {
    expect(err).toBeInstanceOf(SnapshotCorruptError);
    expect(err).toBeInstanceOf(ShmSnapshotError);
    return (err as SnapshotCorruptError).code;
  }
  return 'none';
}

test.each([
  ['wrong magic', (b: Buffer) => b.writeBigUInt64LE(0x1234n, 0), 'ERR_SNAPSHOT_BAD_MAGIC'],
  ['magic in the other byte order', (b: Buffer) => b.writeBigUInt64BE(MAGIC, 0), 'ERR_SNAPSHOT_BAD_MAGIC'],
  ['entry_mask not 2^k − 1', (b: Buffer) => b.writeBigUInt64LE(6n, 8), 'ERR_SNAPSHOT_BAD_MASK'],
  ['page_mask not 2^k − 1', (b: Buffer) => b.writeBigUInt64LE(100n, 16), 'ERR_SNAPSHOT_BAD_MASK'],
  ['a ring larger than the file', (b: Buffer) => b.writeBigUInt64LE((1n << 20n) - 1n, 16), 'ERR_SNAPSHOT_TRUNCATED'],
  ['more entries than the file holds', (b: Buffer) => b.writeBigUInt64LE((1n << 40n) - 1n, 8), 'ERR_SNAPSHOT_TRUNCATED'],
  ['masks of 2^64 − 1', (b: Buffer) => b.writeBigUInt64LE(2n ** 64n - 1n, 8), 'ERR_SNAPSHOT_TRUNCATED'],
  ['an entry longer than the ring', (b: Buffer) => b.writeBigUInt64LE(64n, 0x1008), 'ERR_SNAPSHOT_BAD_ENTRY'],
  ['an entry past the written stream', (b: Buffer) => b.writeBigUInt64LE(1000n, 0x1010), 'ERR_SNAPSHOT_BAD_ENTRY'],
  ['an entry offset beyond 2^53', (b: Buffer) => b.writeBigUInt64LE(2n ** 60n, 0x1000), 'ERR_SNAPSHOT_BAD_ENTRY'],
  ['a write offset beyond 2^53', (b: Buffer) => b.writeBigUInt64LE(2n ** 60n, 0x18), 'ERR_SNAPSHOT_OFFSET_RANGE'],
])('%s', (_what, damage, code) => {
  const buf = valid();
  damage(buf);
  expect(codeOf(buf)).toBe(code);
});

test.each([
  [4, 'ERR_SNAPSHOT_TRUNCATED'],
  [100, 'ERR_SNAPSHOT_TRUNCATED'],
  [PAGE, 'ERR_SNAPSHOT_TRUNCATED'],
  [PAGE + 100, 'ERR_SNAPSHOT_TRUNCATED'],
  [2 * PAGE + 5, 'ERR_SNAPSHOT_TRUNCATED'],
  [3 * PAGE, 'none'],
])('a file cut at %i bytes', (at, code) => {
  const cut = valid().subarray(0, at);
  expect(codeOf(cut)).toBe(at < 8 ? 'ERR_SNAPSHOT_TRUNCATED' : code);
});

test('entries whose bytes were overwritten are history, not corruption: left out of valid(), cleared by a writer', () => {
  // What the Rust writer leaves when it continues one of our files: it only
  // uses slot 0 and never invalidates the others it overwrites.
  const buf = valid();
  buf.writeBigUInt64LE(10_000n, 0x18);
  buf.writeBigUInt64LE(9_990n, 0x1000 + 16 * 5);
  buf.writeBigUInt64LE(10n, 0x1000 + 16 * 5 + 8);
  const r = new SnapshotFile(buf).recover()!;
  expect(r.valid()).toEqual([{ slot: 5, offset: 9_990, length: 10 }]);
  expect(buf.readBigUInt64LE(0x1008)).toBe(5n); // reading left it alone
  r.writer();
  expect(buf.readBigUInt64LE(0x1008)).toBe(0n);
  expect(buf.readBigUInt64LE(0x1018)).toBe(0n);
  expect(buf.readBigUInt64LE(0x1000 + 16 * 5 + 8)).toBe(10n);
});

test('messages say what is wrong', () => {
  const buf = valid();
  buf.writeBigUInt64LE(0x1234n, 0);
  expect(() => new SnapshotFile(buf).recover()).toThrow(/not the shm-snapshot v1 magic/);
});

test('an unaligned copy (from Buffer\'s pool) is read the same', () => {
  const src = valid();
  const pooled = Buffer.allocUnsafe(src.length + 3).subarray(3);
  src.copy(pooled);
  const r = new SnapshotFile(pooled).recover();
  expect(r?.valid().map((s) => r.read(s)?.toString())).toEqual(['first', 'second']);
});

test('recover() and valid() never write to the file', () => {
  const buf = valid();
  const before = Buffer.from(buf);
  const r = new SnapshotFile(buf).recover();
  r?.valid();
  r?.newest();
  r?.read(r.newest()!);
  r?.tail();
  expect(buf.equals(before)).toBe(true);
});

test('a live recover skips entries that fail checks instead of throwing', () => {
  const buf = valid();
  buf.writeBigUInt64LE(1000n, 0x1010);
  const r = new SnapshotFile(buf).recover({ live: true });
  expect(r?.valid().map((s) => s.slot)).toEqual([0]);
});
