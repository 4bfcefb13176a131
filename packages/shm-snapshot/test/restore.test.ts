// shm-restore's pieces in one process: argument parsing, the sparse copy
// into a recycled temp file, and restore-v1 cycles against a live writer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';

import { SnapshotFile } from '../src/index';
import { parseArgs } from '../src/restore/args';
import { BackupPath } from '../src/restore/backup';
import { _subtract, copyRange } from '../src/restore/copy';
import { examineBackup, snapshotCycle, writeBack, type SnapshotState } from '../src/restore/snapshotter';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-snapshot-unit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const fresh = (): SnapshotState => ({ baselineEnd: 0, configuration: null, lastWriteOffset: 0, resetPending: false });

describe('parseArgs', () => {
  test('run mode, with and without --', () => {
    expect(parseArgs(['--snapshot', 'restore-v1', '--interval=50', 'b', '--', 'cmd', '-x'])).toMatchObject({
      mode: 'run',
      snapshot: 'restore-v1',
      intervalMs: 50,
      backup: 'b',
      command: ['cmd', '-x'],
    });
    expect(parseArgs(['b', 'cmd', 'arg'])).toMatchObject({ backup: 'b', command: ['cmd', 'arg'], snapshot: null, intervalMs: 100 });
    expect(parseArgs(['inspect', '--json', 'b'])).toEqual({ mode: 'inspect', backup: 'b', json: true, maxBytes: 64 });
  });

  test.each([[[]], [['b']], [['--snapshot', 'v2', 'b', 'c']], [['--interval', '0', 'b', 'c']], [['--nope', 'b', 'c']], [['inspect']]])(
    'usage error for %j',
    (argv) => {
      expect(() => parseArgs(argv)).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    },
  );
});

test('subtract() leaves the parts of a not covered by b', () => {
  expect(
    _subtract(
      [
        { offset: 0, length: 100 },
        { offset: 200, length: 10 },
      ],
      [
        { offset: 10, length: 10 },
        { offset: 50, length: 100 },
        { offset: 205, length: 100 },
      ],
    ),
  ).toEqual([
    { offset: 0, length: 10 },
    { offset: 20, length: 30 },
    { offset: 200, length: 5 },
  ]);
});

test('copyRange into a recycled file: holes of the source read as zeros, data as the source', () => {
  const size = 64 * 4096;
  const src = SharedFd.create({ size });
  try {
    // Pages 3 and 40 hold data; the rest of the memfd is holes.
    fs.writeSync(src.fd, Buffer.alloc(4096, 0xaa), 0, 4096, 3 * 4096);
    fs.writeSync(src.fd, Buffer.alloc(100, 0xbb), 0, 100, 40 * 4096 + 7);
    const out = path.join(dir, 'out');
    fs.writeFileSync(out, Buffer.alloc(size, 0x55)); // stale data everywhere
    const fd = fs.openSync(out, 'r+');
    copyRange(src.fd, fd, 0, size, true);
    fs.closeSync(fd);
    const want = Buffer.alloc(size);
    fs.readSync(src.fd, want, 0, size, 0);
    expect(fs.readFileSync(out).equals(want)).toBe(true);
  } finally {
    src.close();
  }
});

describe('restore-v1 cycles', () => {
  function live(size = 32 * 4096) {
    const shared = SharedFd.create({ size });
    const file = SnapshotFile.map(shared);
    const writer = file.configure({ entries: 8, dataBytes: 256 });
    return { shared, file, writer, close: () => (file.close(), shared.close()) };
  }

  test('writes only when there is a newer commit, recycles its temp file, and leaves none behind', () => {
    const l = live();
    const backup = new BackupPath(path.join(dir, 'b'));
    const state = fresh();
    try {
      expect(snapshotCycle(l.shared.fd, backup, state, () => undefined)).toEqual({ written: false, reason: 'no valid entry in the shared file' });
      l.writer.tailBuffer().write('tail v1');
      l.writer.commit(Buffer.from('one'));
      expect(snapshotCycle(l.shared.fd, backup, state, () => undefined)).toMatchObject({ written: true, kept: 1, newestEnd: 3 });
      expect(snapshotCycle(l.shared.fd, backup, state, () => undefined)).toMatchObject({ written: false, reason: 'no commit since the last backup' });
      l.writer.tailBuffer().write('tail v2');
      l.writer.commit(Buffer.from('two'));
      expect(snapshotCycle(l.shared.fd, backup, state, () => undefined)).toMatchObject({ written: true, kept: 2, newestEnd: 6 });
      const seen = examineBackup(backup);
      expect(seen).toMatchObject({ kind: 'snapshot', newestEnd: 6 });
      const copy = new SnapshotFile(fs.readFileSync(backup.file)).recover()!;
      expect(copy.valid().map((s) => copy.read(s)?.toString())).toEqual(['one', 'two']);
      expect(copy.tailBuffer().subarray(0, 7).toString()).toBe('tail v2');
      // The replaced version is kept as the next temp file until dispose().
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
      backup.dispose();
      expect(fs.readdirSync(dir)).toEqual(['b']);
    } finally {
      l.close();
    }
  });

  test('a child that re-initialises the file: the old BACKUP is kept beside the new one', () => {
    const l = live();
    const backup = new BackupPath(path.join(dir, 'b'));
    const state = fresh();
    const logs: string[] = [];
    try {
      for (let i = 0; i < 5; i++) l.writer.commit(Buffer.from(`commit ${i}`));
      expect(snapshotCycle(l.shared.fd, backup, state, (m) => logs.push(m)).written).toBe(true);
      l.file.close();
      const again = SnapshotFile.map(l.shared);
      const w2 = again.configure({ entries: 8, dataBytes: 256 });
      w2.commit(Buffer.from('new'));
      expect(snapshotCycle(l.shared.fd, backup, state, (m) => logs.push(m)).written).toBe(true);
      expect(logs.join('\n')).toMatch(/re-initialised/);
      const kept = fs.readdirSync(dir).filter((n) => n.startsWith('b.before-reset-'));
      expect(kept).toHaveLength(1);
      expect(new SnapshotFile(fs.readFileSync(path.join(dir, kept[0] as string))).recover()!.valid()).toHaveLength(5);
      again.close();
      backup.dispose();
    } finally {
      l.close();
    }
  });

  test('writeBack keeps a non-empty BACKUP when the shared file is empty', () => {
    const backup = new BackupPath(path.join(dir, 'b'));
    fs.writeFileSync(backup.file, 'keep me');
    const empty = SharedFd.create();
    try {
      expect(writeBack(empty.fd, backup)).toBe(false);
      expect(fs.readFileSync(backup.file, 'utf8')).toBe('keep me');
    } finally {
      empty.close();
    }
  });
});

describe('BackupPath.replace() recycles a replaced BACKUP only when nobody else can see it', () => {
  const version = (b: BackupPath, text: string) =>
    b.replace((fd) => {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, text, 0);
      return true;
    });

  test('a hard link made to BACKUP keeps its version', () => {
    const b = new BackupPath(path.join(dir, 'b'));
    version(b, 'version 1');
    fs.linkSync(b.file, path.join(dir, 'mine'));
    version(b, 'version 2'); // version 1 becomes the spare, still linked as "mine"
    version(b, 'version 3');
    expect(fs.readFileSync(path.join(dir, 'mine'), 'utf8')).toBe('version 1');
    expect(fs.readFileSync(b.file, 'utf8')).toBe('version 3');
    b.dispose();
  });

  test('a reader holding the previous BACKUP open keeps reading it whole', () => {
    const b = new BackupPath(path.join(dir, 'b'));
    version(b, 'version 1');
    version(b, 'version 2');
    const reader = fs.openSync(b.file, 'r'); // holds version 2
    version(b, 'version 3'); // reuses version 1's file
    version(b, 'version 4'); // version 2 is open: not reused
    const held = Buffer.alloc(20);
    const n = fs.readSync(reader, held, 0, 20, 0);
    fs.closeSync(reader);
    expect(held.subarray(0, n).toString()).toBe('version 2');
    expect(fs.readFileSync(b.file, 'utf8')).toBe('version 4');
    b.dispose();
    expect(fs.readdirSync(dir).sort()).toEqual(['b']);
  });
});
