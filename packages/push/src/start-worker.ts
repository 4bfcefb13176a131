import type { Worker } from 'node:worker_threads';

import { startModuleWorker } from '@shmkit/kit/worker';

import type { Job } from './jobs';

/**
 * Starts a push worker thread (worker.ts). Without a job the worker is a
 * spare that waits for its job as the first message.
 */
export function startWorker(job?: Job): Worker {
  return startModuleWorker(__dirname, 'worker', job);
}
