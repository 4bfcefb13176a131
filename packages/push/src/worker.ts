// Entry point of the push worker threads; workerData says which job to run.
import { parentPort, workerData } from 'node:worker_threads';

import { runHasher } from './hash-follower';
import type { Job } from './jobs';
import { runReceiver } from './receive-loop';
import { runSender } from './sendfile-loop';

function run(job: Job, onEnd?: () => void): void {
  switch (job.op) {
    case 'send':
      runSender(job, onEnd);
      break;
    case 'receive':
      runReceiver(job);
      break;
    case 'hash':
      runHasher(job);
      break;
  }
}

/** Tells the owner that a receive job is over and this thread takes another. */
export const IDLE = { type: 'idle' } as const;

/**
 * Without workerData this is a spare, started ahead of need (starting a
 * thread and loading ffi-rs costs ~80 ms of CPU and 100-450 ms here): its job
 * arrives as a message. A receive thread serves job after job, so a receiver
 * that takes one push after another starts no thread per push, and a sender
 * thread serves push after push (sender-threads.ts).
 */
function serve(): void {
  parentPort?.once('message', (job: Job | null) => {
    // null: the owner has no more work. Returning lets the thread end by
    // itself, which (unlike terminate()) never interrupts native code.
    if (job === null) return;
    if (job.op === 'send') {
      // Event-driven: the job ends when its owner closes it ('closed' is
      // the owner's signal that this thread is free again).
      run(job, serve);
      return;
    }
    run(job);
    if (job.op !== 'receive') return;
    parentPort?.postMessage(IDLE);
    serve();
  });
}

if (workerData === null || workerData === undefined) serve();
else run(workerData as Job);
