// Sender threads kept between pushes. Starting a thread and loading ffi-rs
// into it costs ~80 ms of CPU and as much wall time, more than the whole
// transfer of a small file; an idle thread costs nothing but its memory, so
// a process that pushes again soon reuses it, as an HTTP agent keeps a
// connection alive. Idle threads never keep the process alive and end by
// themselves after SENDER_IDLE_MS.
import type { Worker } from 'node:worker_threads';

import { startWorker } from './start-worker';

/** How long an idle sender thread waits for the next push before ending (RMMAP_SENDER_IDLE_MS overrides). */
export const SENDER_IDLE_MS = idleMs(process.env['RMMAP_SENDER_IDLE_MS']);

function idleMs(env: string | undefined): number {
  const n = env === undefined ? NaN : Number(env);
  return Number.isSafeInteger(n) && n >= 0 ? n : 10_000;
}
/** At most this many idle threads are kept; more are ended at once. */
const MAX_IDLE = 4;

interface Idle {
  worker: Worker;
  timer: NodeJS.Timeout;
  onExit: () => void;
}

const idle: Idle[] = [];

// An idle thread has no owner to report to; a crash just drops it.
const ignore = (): void => undefined;

/** An idle sender thread, or a new one; the caller owns it until giveBack(). */
export function takeSenderThread(): Worker {
  const e = idle.pop();
  if (e === undefined) return startWorker();
  clearTimeout(e.timer);
  e.worker.off('exit', e.onExit);
  e.worker.off('error', ignore);
  e.worker.ref();
  return e.worker;
}

/**
 * Returns a thread whose push is closed ('closed' received) and that the
 * caller no longer listens to. It waits for the next push, unreferenced.
 */
export function giveBackSenderThread(worker: Worker): void {
  if (idle.length >= MAX_IDLE) {
    end(worker);
    return;
  }
  worker.unref();
  const e: Idle = {
    worker,
    timer: setTimeout(() => {
      drop(e);
      end(worker);
    }, SENDER_IDLE_MS).unref(),
    onExit: () => drop(e),
  };
  worker.on('error', ignore);
  worker.once('exit', e.onExit);
  idle.push(e);
}

/** Ends every idle sender thread now (for embedders and tests that count threads); resolves when they are gone. */
export async function closeIdleSenderThreads(): Promise<void> {
  const all = idle.splice(0);
  await Promise.all(
    all.map((e) => {
      clearTimeout(e.timer);
      const gone = new Promise((resolve) => e.worker.once('exit', resolve));
      // Idle threads are unref'd; hold the loop open until they are gone, or
      // a program ending in this await exits with the promise unsettled.
      e.worker.ref();
      end(e.worker);
      return gone;
    }),
  );
}

/** Idle sender threads right now. */
export function idleSenderThreads(): number {
  return idle.length;
}

function drop(e: Idle): void {
  const i = idle.indexOf(e);
  if (i !== -1) idle.splice(i, 1);
}

function end(worker: Worker): void {
  // null tells a spare to return; the thread then ends by itself, which
  // (unlike terminate()) never interrupts native code.
  worker.postMessage(null);
}
