import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { SharedFd } from '@shmkit/shm-fd';

import { SpscQueue } from '../src';

describe('waiting', () => {
  test('many pending async pops park no libuv threadpool thread', async () => {
    using fd = SharedFd.create({ size: 16 * SpscQueue.byteLengthFor(1024) });
    const map = fd.map();
    const queues = Array.from({ length: 16 }, (_, i) => SpscQueue.create(map.buffer, { offset: i * SpscQueue.byteLengthFor(1024), capacity: 1024 }));
    const pending = queues.map((q) => q.pop());
    // The pool has 4 threads: if each waiter held one, these reads would
    // never run and the test would time out.
    const reads = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(() => fs.promises.readFile(__filename)));
    expect(reads.every((b) => b.length > 0)).toBe(true);
    queues.forEach((q, i) => q.tryPush(Buffer.from(String(i))));
    expect((await Promise.all(pending)).map(String)).toEqual(queues.map((_, i) => String(i)));
    for (const q of queues) q.close();
    map.close();
  });

  test('a blocking pop in one thread is woken by a push from another thread mapping the same file', async () => {
    const file = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `shm-state-waits-${process.pid}`);
    using fd = SharedFd.openFile(file, { create: true, size: SpscQueue.byteLengthFor(1024) });
    fs.rmSync(file);
    const map = fd.map();
    const q = SpscQueue.create(map.buffer, { capacity: 1024 });
    // The worker maps the same file through our fd and pushes after a while;
    // this thread meanwhile sleeps in popSync (on its SyncBell pipe, or
    // futex while the alarm thread starts).
    const src = `
      const { workerData } = require('node:worker_threads');
      require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();
      const sys = require(${JSON.stringify(path.join(__dirname, '..', '..', 'shm-fd', 'src', 'sys', 'index.ts'))});
      const m = sys.map(workerData.fd);
      setTimeout(() => {
        const { SpscQueue } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))});
        SpscQueue.open(m.buffer).tryPush(Buffer.from('hey'));
        m.close();
      }, 300);`;
    const w = new Worker(src, { eval: true, workerData: { fd: fd.fd } });
    const got = q.popSync({ timeoutMs: 20_000 });
    expect(got?.toString()).toBe('hey');
    await w.terminate();
    q.close();
    map.close();
  });
});
