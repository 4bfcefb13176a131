// The worker pool's accounting: a worker holds the task it runs and the next
// (WORKER_DEPTH), never more, and has room again once it answers.
import * as sys from '@shmkit/shm-fd/sys';

import { WORKER_DEPTH, WorkerPool } from '../src/daemon/worker-pool';
import type { WorkerDone } from '../src/daemon/worker-messages';

// ffi-rs 1.3.7 can crash a process whose main thread never loaded it when a
// thread that did exits (shm-fd README); tinyd's main thread always has.
beforeAll(() => sys.getpid());

describe('WorkerPool', () => {
  it(`hands a worker at most ${WORKER_DEPTH} tasks and frees its room as it answers`, async () => {
    const done: WorkerDone[] = [];
    let answered: () => void = () => undefined;
    const pool = new WorkerPool(
      1,
      'snappyjs',
      128 * 1024,
      (d) => {
        done.push(d);
        if (done.length === WORKER_DEPTH) answered();
      },
      (err) => {
        throw err;
      },
    );
    try {
      expect(pool.room).toBe(WORKER_DEPTH);
      // fd -1 cannot be mapped: each task comes back at once with an error, which is all this needs.
      const task = (slot: number) => ({ type: 'task' as const, clientId: 1, fd: -1, length: 8192, slot, req: { op: 1, inLen: 0, outLimit: 0 } });
      const all = new Promise<void>((resolve) => (answered = resolve));
      for (let i = 0; i < WORKER_DEPTH; i++) expect(pool.run(task(i))).toBe(true);
      expect(pool.room).toBe(0);
      expect(pool.idle).toBe(0);
      expect(pool.run(task(99))).toBe(false);
      await all;
      expect(done.map((d) => d.slot)).toEqual(Array.from({ length: WORKER_DEPTH }, (_, i) => i));
      expect(done.every((d) => !d.ok && d.error !== undefined)).toBe(true);
      expect(pool.room).toBe(WORKER_DEPTH);
      expect(pool.idle).toBe(1);
    } finally {
      await pool.close();
    }
  });
});
