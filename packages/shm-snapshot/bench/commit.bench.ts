// Commits per second, one process, 8-byte and 4 KiB payloads, on a memfd
// mapping. Alternatives: copying the payload into a plain Buffer ring (no
// journal at all: the floor) and appending it to a file on tmpfs with
// fs.writeSync (what a program persisting records without shared memory
// would do).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';

import { SnapshotFile } from '../src/index';
import { fmtRate, rate, type Row } from './util';

export function run(): Row[] {
  const rows: Row[] = [];
  for (const size of [8, 4096]) {
    const shared = SharedFd.create({ size: 64 * 1024 * 1024 });
    const file = SnapshotFile.map(shared);
    const writer = file.configure({ entries: 256, dataBytes: 1 << 20 });
    const payload = Buffer.alloc(size, 7);
    const ours = rate(() => writer.commit(payload), 1500, size === 8 ? 20_000 : 2_000);
    file.close();
    shared.close();

    const ring = Buffer.alloc(1 << 20);
    let at = 0;
    const plain = rate(
      () => {
        if (at + size > ring.length) at = 0;
        ring.set(payload, at);
        at += size;
      },
      1500,
      size === 8 ? 20_000 : 2_000,
    );

    const dir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    const logPath = path.join(dir, `shm-snapshot-bench-${process.pid}.log`);
    const fd = fs.openSync(logPath, 'w', 0o600);
    let written = 0;
    const append = rate(
      () => {
        fs.writeSync(fd, payload);
        written += size;
        if (written > 256 * 1024 * 1024) {
          fs.ftruncateSync(fd, 0);
          written = 0;
        }
      },
      1500,
      size === 8 ? 5_000 : 1_000,
    );
    fs.closeSync(fd);
    fs.unlinkSync(logPath);

    rows.push({
      scenario: `commit ${size === 8 ? '8 B' : '4 KiB'} vs fs.writeSync append (tmpfs)`,
      ours: fmtRate(ours),
      baseline: fmtRate(append),
      ratio: ours / append,
    });
    rows.push({
      scenario: `commit ${size === 8 ? '8 B' : '4 KiB'} vs plain Buffer copy (no journal)`,
      ours: fmtRate(ours),
      baseline: fmtRate(plain),
      ratio: ours / plain,
    });
  }
  return rows;
}
