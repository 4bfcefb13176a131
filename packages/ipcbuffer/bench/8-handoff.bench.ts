// Cross-process wake-up round trip through locks: three named mutexes are
// passed round between this process and a child (each unlock wakes the
// other side's waiting lock), so a round trip is two wake-ups, like a
// message and its reply. Against child_process IPC (send / 'message'), the
// way a Node user wakes another Node process. This side is async.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { Mutex } from '../src';
import { type Row } from './util';

const ROUNDS = Number(process.env['IPCBUFFER_BENCH_ROUNDS'] ?? 2000);

function child(mode: string, prefix: string): Promise<ChildProcess> {
  const c = fork(path.join(__dirname, 'fixtures', 'pong.ts'), [mode, prefix], { execArgv: ['-r', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    c.once('message', () => resolve(c));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`pong child exited ${code}`)));
  });
}

async function mutexes(mode: string): Promise<number> {
  const prefix = `/ipcbuffer-bench-handoff-${process.pid}`;
  const m = [0, 1, 2].map((i) => Mutex.open(`${prefix}-${i}`));
  const at = (i: number) => m[i % 3] as Mutex;
  at(0).lockSync(); // we hold 0 and 1, the child takes 2
  at(1).lockSync();
  const c = await child(mode, prefix);
  let i = 0;
  try {
    // Round i: give i to the child (it waits for it), wait for i+2 (it gives that back).
    const run = async (n: number) => {
      for (const end = i + n; i < end; i++) {
        at(i).unlock();
        await at(i + 2).lock();
      }
    };
    await run(200);
    const t = process.hrtime.bigint();
    await run(ROUNDS);
    return Number(process.hrtime.bigint() - t) / 1e3 / ROUNDS;
  } finally {
    c.kill(); // a child blocked in lockSync() never sees a disconnect
    for (const x of m) x.close();
    for (let k = 0; k < 3; k++) Mutex.unlink(`${prefix}-${k}`);
  }
}

async function ipc(): Promise<number> {
  const c = await child('ipc', '');
  try {
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await new Promise<void>((resolve) => {
          c.once('message', () => resolve());
          c.send(i);
        });
      }
    };
    await run(200);
    const t = process.hrtime.bigint();
    await run(ROUNDS);
    return Number(process.hrtime.bigint() - t) / 1e3 / ROUNDS;
  } finally {
    c.kill();
  }
}

export async function run(): Promise<Row[]> {
  const base = await ipc();
  const asyncBoth = await mutexes('mutex');
  const syncChild = await mutexes('mutex-sync');
  const us = (x: number) => `${x.toFixed(1)} µs`;
  return [
    { scenario: 'wake-up round trip, async lock() both ends (vs child_process IPC send/message)', ours: us(asyncBoth), baseline: us(base), ratio: base / asyncBoth },
    { scenario: 'wake-up round trip, child in lockSync(), parent async (vs child_process IPC)', ours: us(syncChild), baseline: us(base), ratio: base / syncChild },
  ];
}
