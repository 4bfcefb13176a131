import { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import type { FutexWaitResult } from '@shmkit/shm-fd/sys';

// Control block shared with the helper thread (a SharedArrayBuffer, so both
// sides use Atomics.wait/notify/waitAsync — no MessagePort hop):
// int32 [REQ] request sequence (-1: exit), [RES] response sequence,
// [EXPECTED] futex value, [ERRNO] result; float64 [ADDR], [TS] pointers.
const REQ = 0;
const RES = 1;
const EXPECTED = 2;
const ERRNO = 3;
const ADDR = 0;
const TS = 1;

// The helper thread's whole program. It only makes the futex syscall, so it
// is plain JavaScript over ffi-rs (no TypeScript loader needed in workers).
const PROGRAM = `
const { workerData } = require('node:worker_threads');
const { open, load, DataType } = require(workerData.ffi);
open({ library: 'libc', path: 'libc.so.6' });
const I64 = DataType.I64;
const types = [I64, I64, I64, I64, I64, I64, I64];
const ctl = new Int32Array(workerData.sab, 0, 4);
const ptr = new Float64Array(workerData.sab, 16, 2);
for (let seen = 0; ; ) {
  Atomics.wait(ctl, ${REQ}, seen);
  const req = Atomics.load(ctl, ${REQ});
  if (req < 0) break;
  if (req === seen) continue;
  seen = req;
  const r = load({ library: 'libc', funcName: 'syscall', retType: I64, paramsType: types,
    paramsValue: [workerData.futex, ptr[${ADDR}], 0 /* FUTEX_WAIT */, Atomics.load(ctl, ${EXPECTED}), ptr[${TS}], 0, 0], errno: true });
  Atomics.store(ctl, ${ERRNO}, r.value === -1 ? r.errnoCode : 0);
  Atomics.store(ctl, ${RES}, req);
  Atomics.notify(ctl, ${RES});
}
`;

// Node 20 has Atomics.waitAsync; TypeScript's ES2022 lib does not declare it.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number, t: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

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
 * Requests and replies go through Atomics on a SharedArrayBuffer: the helper
 * sleeps in Atomics.wait between requests and the event loop learns of the
 * reply through Atomics.waitAsync. The thread keeps the process alive only
 * while a wait is outstanding.
 */
export class FutexThread {
  #worker: Worker | undefined;
  #timespec: sys.Mapping | undefined;
  #ctl: Int32Array | undefined;
  #ptr: Float64Array | undefined;
  #seq = 0;
  #busy = false;
  #failure: Error | undefined;

  /** Sleeps while the word at `view[index]` holds `expected`, for at most `ms`. */
  async wait(view: Int32Array, index: number, expected: number, ms: number): Promise<FutexWaitResult> {
    if (this.#busy) throw new Error('FutexThread: one wait at a time');
    const w = this.#start();
    const ctl = this.#ctl as Int32Array;
    const ptr = this.#ptr as Float64Array;
    const ts = this.#timespec as sys.Mapping;
    const clamped = Math.max(0, Math.min(ms, 2 ** 31));
    // The helper reads the timespec during the syscall; it is ours alone until the reply.
    ts.buffer.writeBigInt64LE(BigInt(Math.floor(clamped / 1000)), 0);
    ts.buffer.writeBigInt64LE(BigInt(Math.floor((clamped % 1000) * 1e6)), 8);
    ptr[ADDR] = sys.addressOf(view, index);
    ptr[TS] = ts.address;
    Atomics.store(ctl, EXPECTED, expected | 0);
    const seq = ++this.#seq;
    const prev = Atomics.load(ctl, RES);
    this.#busy = true;
    w.ref();
    try {
      Atomics.store(ctl, REQ, seq);
      Atomics.notify(ctl, REQ);
      // Invariant: RES only moves to the sequence of the request just answered.
      while (Atomics.load(ctl, RES) !== seq) {
        if (this.#failure !== undefined) throw this.#failure;
        if (this.#worker === undefined) throw new Error('the lock was closed while waiting');
        const r = waitAsync(ctl, RES, prev, 1000);
        if (r.async) await r.value;
      }
    } finally {
      this.#busy = false;
      this.#worker?.unref();
    }
    const errno = Atomics.load(ctl, ERRNO);
    return errno === 0 ? 'ok' : errno === 11 ? 'not-equal' : errno === 110 ? 'timed-out' : 'interrupted';
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const sab = new SharedArrayBuffer(32);
    this.#ctl = new Int32Array(sab, 0, 4);
    this.#ptr = new Float64Array(sab, 16, 2);
    this.#seq = 0;
    this.#failure = undefined;
    this.#timespec = sys.mapAnonymous(4096);
    const w = new Worker(PROGRAM, { eval: true, workerData: { ffi: resolveFfi(), futex: sys.constants.SYS.futex, sab } });
    w.unref();
    w.on('error', (err) => {
      this.#failure = err;
      this.#worker = undefined;
      // Wake a pending waitAsync so the waiter sees the failure.
      if (this.#ctl !== undefined) Atomics.notify(this.#ctl, RES);
    });
    this.#worker = w;
    return w;
  }

  /** Stops the helper; an outstanding wait ends at its timeout at the latest. */
  close(): void {
    const w = this.#worker;
    this.#worker = undefined;
    if (this.#ctl !== undefined) {
      Atomics.store(this.#ctl, REQ, -1);
      Atomics.notify(this.#ctl, REQ);
    }
    if (w !== undefined) void w.terminate();
    this.#timespec?.close();
    this.#timespec = undefined;
  }
}
