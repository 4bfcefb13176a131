import { isMainThread } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { ShmStateError } from './errors';

/** Who a lock records as its holder: the process (default) or the calling thread. */
export type LockOwner = 'process' | 'thread';

let tid = 0;

/**
 * The kernel thread id of the calling thread (the pid on the main thread).
 * kill(2) accepts thread ids, so the same liveness check serves both kinds
 * of owner, and a worker thread that exits holding a lock is detected dead
 * while its process lives on. Module state is per thread in Node, so the
 * cache is too.
 */
export function currentThreadId(): number {
  if (tid === 0) {
    tid = isMainThread ? process.pid : sys.gettid();
  }
  return tid;
}

/** The id written into owner words for `owner`. */
export function ownerId(owner: LockOwner | undefined): number {
  if (owner === undefined || owner === 'process') return process.pid;
  if (owner === 'thread') return currentThreadId();
  throw new ShmStateError('ERR_INVALID_ARG_VALUE', `owner must be 'process' or 'thread', got ${JSON.stringify(owner)}`);
}
