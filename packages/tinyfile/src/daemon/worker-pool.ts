import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { TaskMessage, ToWorker, WorkerDone } from './worker-messages';

interface Slotted {
  worker: Worker;
  busy: boolean;
}

/**
 * W worker threads, each running one task at a time. The scheduler decides
 * what runs; the pool only says who is idle.
 */
export class WorkerPool {
  readonly #workers: Slotted[] = [];
  #closed = false;

  constructor(count: number, codec: string, slotSize: number, onDone: (d: WorkerDone) => void, onError: (err: Error) => void) {
    // Under ts-jest/tsx the sources are .ts; the built package runs .js.
    const file = __filename.endsWith('.ts') ? path.join(__dirname, 'worker.ts') : path.join(__dirname, 'worker.js');
    const execArgv = file.endsWith('.ts') ? ['--import', 'tsx'] : [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(file, { workerData: { codec, slotSize }, execArgv });
      const s: Slotted = { worker, busy: false };
      worker.on('message', (d: WorkerDone) => {
        s.busy = false;
        onDone(d);
      });
      worker.on('error', onError);
      this.#workers.push(s);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  get idle(): number {
    return this.#workers.filter((w) => !w.busy).length;
  }

  /** Hands a task to an idle worker; false when all are busy. */
  run(task: TaskMessage): boolean {
    const w = this.#workers.find((x) => !x.busy);
    if (w === undefined || this.#closed) return false;
    w.busy = true;
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
