import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { ring } from '../src/doorbell';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

function bell(): { r: number; w: number; ino: number } {
  const [r, w] = sys.pipe(true);
  return { r, w, ino: fs.fstatSync(r).ino };
}

describe('ringing other processes\' doorbells', () => {
  test('writers to pipes whose reader is gone are closed when the next peer is rung: fds stay bounded by live peers', () => {
    const before = openFds();
    const gone = Array.from({ length: 40 }, bell);
    for (const b of gone) expect(ring(process.pid, b.r, b.ino)).toBe('rung');
    // 40 pipes (2 fds each) and 40 cached writers.
    expect(openFds()).toBe(before + 120);
    for (const b of gone) {
      fs.closeSync(b.r);
      fs.closeSync(b.w);
    }
    // Only the cached writers are left open, keeping 40 dead pipes alive.
    expect(openFds()).toBe(before + 40);
    const live = bell();
    expect(ring(process.pid, live.r, live.ino)).toBe('rung');
    expect(openFds()).toBe(before + 3);
    const buf = Buffer.alloc(8);
    expect(fs.readSync(live.r, buf)).toBe(1);
    fs.closeSync(live.r);
    fs.closeSync(live.w);
  });

  test('a forged address naming a regular file (right inode) is never opened for writing', () => {
    const file = path.join(os.tmpdir(), `shm-state-bell-${process.pid}`);
    fs.writeFileSync(file, 'precious');
    const fd = fs.openSync(file, 'r');
    try {
      expect(ring(process.pid, fd, fs.fstatSync(fd).ino)).toBe('gone');
      expect(fs.readFileSync(file, 'utf8')).toBe('precious');
      expect(ring(-1, 3, 0)).toBe('gone');
      expect(ring(process.pid, -4, 0)).toBe('gone');
    } finally {
      fs.closeSync(fd);
      fs.rmSync(file);
    }
  });
});
