import { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import type { FutexWaitResult } from '@shmkit/shm-fd/sys';

// The helper thread's whole program. It only makes the futex syscall, so it
// is plain JavaScript over ffi-rs (no TypeScript loader needed in workers).
const PROGRAM = `
const { parentPort, workerData } = require('node:worker_threads');
const { open, load, DataType } = require(workerData.ffi);
open({ library: 'libc', path: 'libc.so.6' });
const I64 = DataType.I64;
const types = [I64, I64, I64, I64, I64, I64, I64];
parentPort.on('message', (m) => {
  const r = load({ library: 'libc', funcName: 'syscall', retType: I64, paramsType: types,
    paramsValue: [workerData.futex, m.addr, 0 /* FUTEX_WAIT */, m.expected, m.ts, 0, 0], errno: true });
  parentPort.postMessage(r.value === -1 ? r.errnoCode : 0);
});
`;

let ffiPath: string | undefined;
function resolveFfi(): string {
  // ffi-rs is shm-fd's dependency; resolve it from there so both use one copy.
  ffiPath ??= require.resolve('ffi-rs', { paths: [require.resolve('@shmkit/shm-fd/package.json')] });
  return ffiPath;
}

/**
 * A helper thread that sleeps in futex(2) for the event loop, so async
 * acquires wake as soon as another process releases instead of polling.
 * One wait at a time; one helper per lock object that has async waiters.
 * The thread keeps the process alive only while a wait is outstanding.
 */
export class FutexThread {
  #worker: Worker | undefined;
  #timespec: sys.Mapping | undefined;
  #pending: ((r: FutexWaitResult) => void) | undefined;
  #reject: ((err: Error) => void) | undefined;

  /** Sleeps while the word at `view[index]` holds `expected`, for at most `ms`. */
  wait(view: Int32Array, index: number, expected: number, ms: number): Promise<FutexWaitResult> {
    if (this.#pending !== undefined) throw new Error('FutexThread: one wait at a time');
    const w = this.#start();
    const ts = this.#timespec as sys.Mapping;
    const clamped = Math.max(0, Math.min(ms, 2 ** 31));
    // The helper reads this timespec during the syscall; it is ours alone until the reply.
    ts.buffer.writeBigInt64LE(BigInt(Math.floor(clamped / 1000)), 0);
    ts.buffer.writeBigInt64LE(BigInt(Math.floor((clamped % 1000) * 1e6)), 8);
    return new Promise<FutexWaitResult>((resolve, reject) => {
      this.#pending = resolve;
      this.#reject = reject;
      w.ref();
      w.postMessage({ addr: sys.addressOf(view, index), expected: expected | 0, ts: ts.address });
    });
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    this.#timespec = sys.mapAnonymous(4096);
    const w = new Worker(PROGRAM, { eval: true, workerData: { ffi: resolveFfi(), futex: sys.constants.SYS.futex } });
    w.unref();
    w.on('message', (errno: number) => {
      const done = this.#pending;
      this.#pending = undefined;
      this.#reject = undefined;
      w.unref();
      done?.(errno === 0 ? 'ok' : errno === 11 ? 'not-equal' : errno === 110 ? 'timed-out' : 'interrupted');
    });
    w.on('error', (err) => {
      const reject = this.#reject;
      this.#pending = undefined;
      this.#reject = undefined;
      this.#worker = undefined;
      reject?.(err);
    });
    this.#worker = w;
    return w;
  }

  /** Stops the helper; an outstanding wait ends at its timeout at the latest. */
  close(): void {
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) {
      w.removeAllListeners('message');
      void w.terminate();
    }
    this.#reject?.(new Error('the lock was closed while waiting'));
    this.#pending = undefined;
    this.#reject = undefined;
    this.#timespec?.close();
    this.#timespec = undefined;
  }
}
