// Entry point of the push worker threads; workerData says which job to run.
import { parentPort, workerData } from 'node:worker_threads';

import { runHasher, type HashJob } from './hash-follower';
import { runReceiver, type ReceiveJob } from './receive-loop';
import { runSender, type SendJob } from './sendfile-loop';

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
      runHasher(job);
      break;
  }
}

// Without workerData this is a spare, started ahead of need (starting a
// thread and loading ffi-rs takes ~100 ms): its job arrives as a message.
if (workerData === null || workerData === undefined) parentPort?.once('message', (job: Job) => run(job));
else run(workerData as Job);
