import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

// Control words shared with the alarm thread.
const BLOCKED = 0; // 1 while the owner thread sleeps in read()
const GEN = 1; // bumped for every new deadline
const IDLE = 2; // 1 while the alarm thread sleeps without a deadline
const READY = 3; // 1 once the alarm thread runs

const ALARM_TICK_MS = 10;

// The alarm thread: while its owner sleeps in read() on the bell, it writes
// one byte to the bell when the owner's deadline passes. Plain JS source so it
// runs from both dist/ and tsx without a separate file.
const ALARM_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const st = new Int32Array(workerData.sab, 0, 4);
const dl = new Float64Array(workerData.sab, 16, 1);
const one = Buffer.from([1]);
Atomics.store(st, ${READY}, 1);
let lastBusy = performance.now();
for (;;) {
  if (Atomics.load(st, ${BLOCKED}) === 0) {
    // Keep ticking for a second after the last sleep, so a burst of sleeps
    // does not pay a thread wakeup each; then wait to be woken.
    if (performance.now() - lastBusy < 1000) {
      Atomics.wait(st, ${BLOCKED}, 0, ${ALARM_TICK_MS});
      continue;
    }
    Atomics.store(st, ${IDLE}, 1);
    if (Atomics.load(st, ${BLOCKED}) === 0) Atomics.wait(st, ${BLOCKED}, 0);
    Atomics.store(st, ${IDLE}, 0);
    continue;
  }
  lastBusy = performance.now();
  const left = dl[0] - (performance.timeOrigin + performance.now());
  if (left <= 0) {
    Atomics.store(st, ${BLOCKED}, 0);
    try { fs.writeSync(workerData.fd, one); } catch {}
    continue;
  }
  Atomics.wait(st, ${GEN}, Atomics.load(st, ${GEN}), Math.min(left, ${ALARM_TICK_MS}));
}
`;

/**
 * The blocking counterpart of `Doorbell`: a pipe this thread sleeps on with a
 * plain blocking read() (Node's own fs.readSync, no ffi), rung by other
 * processes exactly like the async doorbell (a one-byte write to
 * `/proc/<pid>/fd/<fd>`). Compared with futex(2) through ffi (~10 µs per
 * call on the measured machine) a wake costs one native write.
 *
 * read() has no timeout, so a small alarm thread (a worker_thread, not the
 * libuv pool; unref'd) writes to the pipe when the sleeper's deadline passes;
 * deadlines are honoured within ~10 ms.
 */
export class SyncBell {
  readonly pid = process.pid;
  readonly fd: number;
  readonly ino: number;
  readonly #writeFd: number;
  readonly #st: Int32Array;
  readonly #deadline: Float64Array;
  readonly #buf = Buffer.alloc(64);

  private constructor() {
    const [r, w] = sys.pipe(false);
    this.fd = r;
    this.#writeFd = w;
    this.ino = fs.fstatSync(r).ino;
    const sab = new SharedArrayBuffer(24);
    this.#st = new Int32Array(sab, 0, 4);
    this.#deadline = new Float64Array(sab, 16, 1);
    const worker = new Worker(ALARM_SOURCE, { eval: true, workerData: { sab, fd: w } });
    worker.unref();
    worker.on('error', () => undefined);
  }

  static #shared: SyncBell | undefined;

  static shared(): SyncBell {
    return (SyncBell.#shared ??= new SyncBell());
  }

  /** False until the alarm thread runs: callers then use another way to sleep. */
  get ready(): boolean {
    return Atomics.load(this.#st, READY) === 1;
  }

  /** Blocks until rung or until `timeoutMs` passed (±10 ms). */
  sleep(timeoutMs: number): void {
    const st = this.#st;
    this.#deadline[0] = performance.timeOrigin + performance.now() + timeoutMs;
    Atomics.add(st, GEN, 1);
    Atomics.store(st, BLOCKED, 1);
    // Only an idle alarm thread needs waking; a ticking one sees the new
    // deadline within one tick.
    if (Atomics.load(st, IDLE) === 1) Atomics.notify(st, BLOCKED);
    // Drains every pending byte (rings and late alarms) in one read.
    try {
      fs.readSync(this.fd, this.#buf, 0, this.#buf.length, null);
    } catch (err) {
      // A signal (EINTR) or the like: a spurious wake; callers re-check.
      if ((err as NodeJS.ErrnoException).code !== 'EINTR' && (err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    } finally {
      Atomics.store(st, BLOCKED, 0);
    }
  }

  ringSelf(): void {
    try {
      fs.writeSync(this.#writeFd, Buffer.from([1]));
    } catch {
      // EAGAIN cannot happen on a blocking pipe with room; a full pipe means a wake is pending.
    }
  }
}
