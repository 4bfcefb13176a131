// Entry point of the push worker threads; workerData says which job to run.
import { parentPort, workerData } from 'node:worker_threads';

import type { ChecksumId } from './constants';
import { hashFd } from './hash';
import { runReceiver, type ReceiveJob } from './receive-loop';
import { runSender, type SendJob } from './sendfile-loop';

export interface HashJob {
  op: 'hash';
  fd: number;
  size: number;
  checksum: ChecksumId;
}

export type Job = SendJob | ReceiveJob | HashJob;

function run(job: Job): void {
  switch (job.op) {
    case 'send':
      runSender(job);
      break;
    case 'receive':
      runReceiver(job);
      break;
    case 'hash':
      parentPort?.postMessage({ digest: hashFd(job.fd, job.size, job.checksum)?.toString('hex') ?? null });
      break;
  }
}

// Without workerData this is a spare, started ahead of need (starting a
// thread and loading ffi-rs takes ~100 ms): its job arrives as a message.
if (workerData === null || workerData === undefined) parentPort?.once('message', (job: Job) => run(job));
else run(workerData as Job);
