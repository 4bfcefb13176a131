// One restore-v1 cycle (valid set, copy into a temp file beside BACKUP,
// valid set again, fsync, rename, fsync the directory) over a 100 MB shared
// file whose every page is written, against copying the same file with
// `cp`, and with fs.copyFileSync + fsync (a copy as durable as ours).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';

import { SnapshotFile } from '../src/index';
import { BackupPath } from '../src/restore/backup';
import { snapshotCycle, type SnapshotState } from '../src/restore/snapshotter';
import { timeMs, type Row } from './util';

const SIZE = 100_000_000;

export function run(): Row[] {
  const dir = fs.mkdtempSync(path.join(process.env['SHM_BENCH_DIR'] ?? os.tmpdir(), 'shm-restore-bench-'));
  const shared = SharedFd.create({ size: SIZE });
  try {
    const file = SnapshotFile.map(shared);
    const writer = file.configure({ entries: 256, dataBytes: 2048 });
    // Dirty every page, so neither side can skip holes.
    const tail = writer.tailBuffer();
    for (let at = 0; at < tail.length; at += 1 << 20) crypto.randomFillSync(tail, at, Math.min(1 << 20, tail.length - at));
    writer.commit(Buffer.alloc(8, 1));
    const backup = new BackupPath(path.join(dir, 'backup'));
    const state: SnapshotState = { baselineEnd: 0, configuration: null, lastWriteOffset: 0, resetPending: false };
    const cycle = timeMs(() => {
      state.baselineEnd = 0;
      const r = snapshotCycle(shared.fd, backup, state, () => undefined);
      if (!r.written) throw new Error(`cycle wrote nothing: ${r.reason}`);
    }, 5);
    const source = `/proc/${process.pid}/fd/${shared.fd}`;
    const dest = path.join(dir, 'copy');
    const cp = timeMs(() => {
      const r = spawnSync('cp', [source, dest]);
      if (r.status !== 0) throw new Error(`cp failed: ${r.stderr.toString()}`);
    }, 5);
    const durable = timeMs(() => {
      fs.copyFileSync(source, dest);
      const fd = fs.openSync(dest, 'r+');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    }, 5);
    file.close();
    const mb = (SIZE / 1e6).toFixed(0);
    return [
      {
        scenario: `restore-v1 cycle, ${mb} MB dirty file vs cp`,
        ours: `${cycle.median.toFixed(0)} ms`,
        baseline: `${cp.median.toFixed(0)} ms`,
        ratio: cp.median / cycle.median,
        note: '(cp does not fsync)',
      },
      {
        scenario: `restore-v1 cycle, ${mb} MB vs copyFileSync + fsync`,
        ours: `${cycle.median.toFixed(0)} ms`,
        baseline: `${durable.median.toFixed(0)} ms`,
        ratio: durable.median / cycle.median,
      },
    ];
  } finally {
    shared.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
