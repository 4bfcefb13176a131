import { SharedFd } from '@shmkit/shm-fd';
import { SnapshotFile, type Transaction } from '../src/index';

const PAGE = 4096;

test('commitWith: the callback replaces the payload and writes the tail before the entry is valid', () => {
  const buf = Buffer.alloc(4 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 4, dataBytes: 64 });
  const seen: number[] = [];
  const r = w.commitWith(Buffer.alloc(8), (tx: Transaction) => {
    // Not valid yet while we run.
    seen.push(new SnapshotFile(Buffer.from(buf)).recover()!.valid().length);
    tx.tail[0] = 42n;
    const count = Buffer.alloc(8);
    count.writeBigUInt64BE(1n);
    tx.replace(count);
    return 'done';
  });
  expect(seen).toEqual([0]);
  expect(r?.value).toBe('done');
  const rec = new SnapshotFile(buf).recover()!;
  expect(rec.read(rec.newest()!)?.readBigUInt64BE(0)).toBe(1n);
  expect(rec.tail()[0]).toBe(42n);
});

test('commitWith: declining commits nothing; the next commit reuses the position', () => {
  const buf = Buffer.alloc(4 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 4, dataBytes: 64 });
  expect(w.commitWith(Buffer.from('nope'), () => false)).toBeNull();
  expect(() => w.commitWith(Buffer.from('boom'), () => { throw new Error('boom'); })).toThrow('boom');
  expect(new SnapshotFile(buf).recover()!.valid()).toEqual([]);
  expect(buf.readBigUInt64LE(0x18)).toBe(0n);
  expect(w.commit(Buffer.from('yes'))).toEqual({ slot: 0, offset: 0, length: 3 });
});

test('payload limits have codes', () => {
  const w = new SnapshotFile(Buffer.alloc(4 * PAGE)).configure({ entries: 4, dataBytes: 16 });
  expect(() => w.commit(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_PAYLOAD' }));
  expect(() => w.commit(Buffer.alloc(16))).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_PAYLOAD' }));
  expect(w.commit(Buffer.alloc(15, 1)).length).toBe(15);
});

test('one writer per file', () => {
  const f = new SnapshotFile(Buffer.alloc(4 * PAGE));
  f.configure({ entries: 4, dataBytes: 16 });
  expect(() => f.recover()!.writer()).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_WRITER_EXISTS' }));
});

test('over a memfd mapping: a second mapping sees the commits; after close the writer refuses', () => {
  const shared = SharedFd.create({ size: 8 * PAGE });
  try {
    const file = SnapshotFile.map(shared);
    const { writer, recovered } = file.openWriter({ entries: 16, dataBytes: 1024 });
    expect(recovered).toBeNull();
    writer.commit(Buffer.from('persist me'));
    const reader = SnapshotFile.map(shared, { writable: false });
    const r = reader.recover({ live: true })!;
    expect(r.read(r.newest()!)?.toString()).toBe('persist me');
    reader.close();
    const tail = writer.tail();
    file.close();
    expect(() => writer.commit(Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    // A stale view reads zeros rather than crashing.
    expect(tail[0]).toBe(0n);
    // Reopened: the journal continues after the recorded offset.
    const again = SnapshotFile.map(shared);
    const next = again.openWriter({ entries: 16, dataBytes: 1024 });
    expect(next.recovered?.configuration.writeOffset).toBe(10);
    expect(next.writer.commit(Buffer.from('more'))).toEqual({ slot: 1, offset: 10, length: 4 });
    again.close();
  } finally {
    shared.close();
  }
});

test('a live reader: read() returns null once the writer has overwritten the snapshot', () => {
  const buf = Buffer.alloc(4 * PAGE);
  const w = new SnapshotFile(buf).configure({ entries: 4, dataBytes: 32 });
  const first = w.commit(Buffer.from('first payload'));
  const live = new SnapshotFile(buf).recover({ live: true })!;
  expect(live.read(first)?.toString()).toBe('first payload');
  w.commit(Buffer.from('second payload'));
  w.commit(Buffer.from('third payload')); // wraps over the first
  expect(live.read(first)).toBeNull();
  expect(live.valid().map((s) => live.read(s)?.toString())).toEqual(['second payload', 'third payload']);
});
