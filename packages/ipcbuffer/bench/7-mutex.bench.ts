// An uncontended cross-process lock: Mutex.lockSync + unlock on a named
// mutex vs the lock-directory approach of lockfile packages (mkdirSync +
// rmdirSync, as proper-lockfile does), the alternative a Node user picks.
import fs from 'node:fs';
import path from 'node:path';

import { Mutex } from '../src';
import { compare, scratchDir, type Row } from './util';

const OPS = 20000;

export function run(): Row[] {
  const name = `/ipcbuffer-bench-mutex-${process.pid}`;
  const m = Mutex.open(name);
  const dir = path.join(scratchDir(), 'lock.d');
  try {
    const t = compare(
      () => {
        for (let i = 0; i < OPS; i++) {
          m.lockSync();
          m.unlock();
        }
      },
      () => {
        for (let i = 0; i < OPS / 20; i++) {
          fs.mkdirSync(dir);
          fs.rmdirSync(dir);
        }
      },
      7,
    );
    const ours = (OPS / t.ours) * 1000;
    const base = (OPS / 20 / t.base) * 1000;
    const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)} M/s` : `${(x / 1e3).toFixed(0)} k/s`);
    return [{ scenario: 'uncontended lock+unlock (Mutex.lockSync vs mkdir/rmdir lock dir)', ours: fmt(ours), baseline: fmt(base), ratio: ours / base }];
  } finally {
    m.close();
    Mutex.unlink(name);
  }
}
