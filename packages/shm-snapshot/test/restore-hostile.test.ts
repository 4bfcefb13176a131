// restore-v1 cycles over a shared file whose words the child damaged: every
// length and offset read from it is range-checked, the cycle is skipped with
// a coded reason, and BACKUP keeps the last good state byte for byte.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { SnapshotFile } from '../src/index';
import { BackupPath } from '../src/restore/backup';
import { snapshotCycle, writeBack, type SnapshotState } from '../src/restore/snapshotter';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-snapshot-hostile-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A live file with a good BACKUP taken of it; `damage` then writes its words with pwrite, as a child would. */
function setup() {
  const shared = SharedFd.create({ size: 8 * 4096 });
  const file = SnapshotFile.map(shared);
  const writer = file.configure({ entries: 8, dataBytes: 256 });
  for (let i = 0; i < 20; i++) writer.commit(Buffer.from(`commit ${i}`));
  const backup = new BackupPath(path.join(dir, 'b'));
  const state: SnapshotState = { baselineEnd: 0, configuration: null, lastWriteOffset: 0, resetPending: false };
  expect(snapshotCycle(shared.fd, backup, state, () => undefined)).toMatchObject({ written: true });
  // A newer commit, so that a cycle would write if the file were sound.
  writer.commit(Buffer.from('newer'));
  const good = fs.readFileSync(backup.file);
  const word = (at: number, v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v, 0);
    fs.writeSync(shared.fd, b, 0, 8, at);
  };
  const close = () => {
    backup.dispose();
    file.close();
    shared.close();
  };
  return { shared, backup, state, good, word, close };
}

const writeOffsetOf = (fd: number) => {
  const b = Buffer.alloc(8);
  fs.readSync(fd, b, 0, 8, 24);
  return b.readBigUInt64LE(0);
};

test.each([
  ['a high bit flipped in the write offset', (fd: number) => [24, writeOffsetOf(fd) ^ (1n << 40n)] as const, 'ERR_SNAPSHOT_OFFSET_RANGE'],
  ['a write offset of 2^53 − 1', () => [24, 2n ** 53n - 1n] as const, 'ERR_SNAPSHOT_OFFSET_RANGE'],
  ['a write offset a whole ring past the newest entry', (fd: number) => [24, writeOffsetOf(fd) + 256n] as const, 'ERR_SNAPSHOT_OFFSET_RANGE'],
  ['entry_mask not 2^k − 1', () => [8, 6n] as const, 'ERR_SNAPSHOT_BAD_MASK'],
  ['entry_mask of 2^64 − 1', () => [8, 2n ** 64n - 1n] as const, 'ERR_SNAPSHOT_TRUNCATED'],
  ['page_mask larger than the file', () => [16, 2n ** 40n - 1n] as const, 'ERR_SNAPSHOT_TRUNCATED'],
  ['an entry length longer than the ring', () => [0x1000 + 16 * 4 + 8, 2n ** 63n] as const, 'ERR_SNAPSHOT_BAD_ENTRY'],
  ['an entry offset past the written stream', () => [0x1000 + 16 * 4, 2n ** 50n] as const, 'ERR_SNAPSHOT_BAD_ENTRY'],
])('%s: skipped with a coded reason, BACKUP unchanged', (_what, damage, code) => {
  const t = setup();
  try {
    const [at, value] = damage(t.shared.fd);
    t.word(at, value);
    const r = snapshotCycle(t.shared.fd, t.backup, t.state, () => undefined);
    expect(r).toMatchObject({ written: false, code, reason: expect.stringContaining(`(${code})`) });
    expect(fs.readFileSync(t.backup.file).equals(t.good)).toBe(true);
  } finally {
    t.close();
  }
});

test('a shared file resized beyond 2^53 bytes is skipped (no RangeError from fs), and writeBack refuses it with a code', () => {
  const t = setup();
  try {
    sys.ftruncate(t.shared.fd, 2 ** 60);
    const r = snapshotCycle(t.shared.fd, t.backup, t.state, () => undefined);
    expect(r).toMatchObject({ written: false, code: 'ERR_SNAPSHOT_FILE_TOO_LARGE' });
    expect(() => writeBack(t.shared.fd, t.backup)).toThrow(expect.objectContaining({ code: 'ERR_SNAPSHOT_FILE_TOO_LARGE' }));
    expect(fs.readFileSync(t.backup.file).equals(t.good)).toBe(true);
  } finally {
    t.close();
  }
});

test('once the damage is repaired, the next cycle writes again', () => {
  const t = setup();
  try {
    const sound = writeOffsetOf(t.shared.fd);
    t.word(24, sound ^ (1n << 40n));
    expect(snapshotCycle(t.shared.fd, t.backup, t.state, () => undefined)).toMatchObject({ written: false });
    t.word(24, sound);
    expect(snapshotCycle(t.shared.fd, t.backup, t.state, () => undefined)).toMatchObject({ written: true });
    const r = new SnapshotFile(fs.readFileSync(t.backup.file)).recover()!;
    expect(r.read(r.newest()!)?.toString()).toBe('newer');
  } finally {
    t.close();
  }
});
