import type { Worker } from 'node:worker_threads';

import { startModuleWorker } from '@shmkit/kit/worker';

import type { TaskMessage, ToWorker, WorkerDone } from './worker-messages';

interface Slotted {
  worker: Worker;
  /** Tasks handed over and not yet answered (running + waiting in its port). */
  pending: number;
}

/**
 * Tasks a worker may hold at once: the one it runs and the next, already
 * in its port when it finishes, so a busy worker goes on without sleeping
 * and being woken again (a cross-CPU wake-up costs tens of µs on a VM).
 */
export const WORKER_DEPTH = 2;

/**
 * W worker threads, each running one task at a time and holding at most
 * WORKER_DEPTH. The scheduler decides what runs; the pool only says who has room.
 */
export class WorkerPool {
  readonly #workers: Slotted[] = [];
  #closed = false;

  constructor(count: number, codec: string, slotSize: number, onDone: (d: WorkerDone) => void, onError: (err: Error) => void) {
    for (let i = 0; i < count; i++) {
      const worker = startModuleWorker(__dirname, 'worker', { codec, slotSize });
      const s: Slotted = { worker, pending: 0 };
      worker.on('message', (d: WorkerDone) => {
        s.pending--;
        onDone(d);
      });
      worker.on('error', onError);
      this.#workers.push(s);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Workers with nothing to do. */
  get idle(): number {
    return this.#workers.filter((w) => w.pending === 0).length;
  }

  /** Tasks the workers can still take. */
  get room(): number {
    return this.#workers.reduce((n, w) => n + WORKER_DEPTH - w.pending, 0);
  }

  /** Hands a task to the least loaded worker; false when none has room. */
  run(task: TaskMessage): boolean {
    let w: Slotted | undefined;
    for (const x of this.#workers) if (x.pending < WORKER_DEPTH && (w === undefined || x.pending < w.pending)) w = x;
    if (w === undefined || this.#closed) return false;
    w.pending++;
    w.worker.postMessage(task);
    return true;
  }

  broadcast(m: ToWorker): void {
    for (const w of this.#workers) w.worker.postMessage(m);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.worker.once('exit', () => resolve());
            w.worker.postMessage({ type: 'exit' } satisfies ToWorker);
            // Nothing is in flight after a drain; do not wait long for the thread to wind down by itself.
            setTimeout(() => void w.worker.terminate(), 200).unref();
          }),
      ),
    );
  }
}
