import { isMainThread } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

let tid = 0;

/**
 * The kernel thread id of the calling thread: lock ownership is per thread,
 * because a worker thread can block on a lock its main thread holds.
 * Module state is per thread in Node, so the cache is too.
 */
export function currentTid(): number {
  if (tid === 0) {
    tid = isMainThread
      ? process.pid
      : sys.check(sys.libc().syscall6(sys.constants.SYS.gettid, 0, 0, 0, 0, 0, 0), 'gettid', 'reading the thread id');
  }
  return tid;
}

/**
 * Whether the thread `id` still exists. kill(2) accepts thread ids as well as
 * process ids. A recycled id reads as alive: waiters then wait for their
 * timeout instead of stealing, which is the safe side.
 */
export function threadAlive(id: number): boolean {
  return sys.processAlive(id);
}
