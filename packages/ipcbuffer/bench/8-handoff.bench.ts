// Cross-process wake-up round trip: the parent releases semaphore "ping",
// a child process waiting on it releases "pong", the parent's async
// acquire() of "pong" resolves. Against child_process IPC (send / 'message'),
// the way a Node user wakes another Node process. Both ends are async.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { Semaphore } from '../src';
import { type Row } from './util';

const ROUNDS = Number(process.env['IPCBUFFER_BENCH_ROUNDS'] ?? 2000);

function child(mode: string, ping: string, pong: string): Promise<ChildProcess> {
  const c = fork(path.join(__dirname, 'fixtures', 'pong.ts'), [mode, ping, pong], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    c.once('message', () => resolve(c));
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`pong child exited ${code}`)));
  });
}

async function semaphores(mode: string): Promise<number> {
  const ping = `/ipcbuffer-bench-ping-${process.pid}`;
  const pong = `/ipcbuffer-bench-pong-${process.pid}`;
  const a = Semaphore.open(ping);
  const b = Semaphore.open(pong);
  a.acquireSync(); // both start with no free permit
  b.acquireSync();
  const c = await child(mode, ping, pong);
  try {
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        a.release();
        await b.acquire();
      }
    };
    await run(200);
    const t = process.hrtime.bigint();
    await run(ROUNDS);
    return Number(process.hrtime.bigint() - t) / 1e3 / ROUNDS;
  } finally {
    c.kill(); // a child blocked in acquireSync() never sees a disconnect
    a.close();
    b.close();
    Semaphore.unlink(ping);
    Semaphore.unlink(pong);
  }
}

async function ipc(): Promise<number> {
  const c = await child('ipc', '', '');
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
  const asyncBoth = await semaphores('sem');
  const syncChild = await semaphores('sem-sync');
  const us = (x: number) => `${x.toFixed(1)} µs`;
  return [
    { scenario: 'wake-up round trip, async acquire() both ends (vs child_process IPC send/message)', ours: us(asyncBoth), baseline: us(base), ratio: base / asyncBoth },
    { scenario: 'wake-up round trip, child in acquireSync(), parent async (vs child_process IPC)', ours: us(syncChild), baseline: us(base), ratio: base / syncChild },
  ];
}
