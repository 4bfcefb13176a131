import diagnostics from 'node:diagnostics_channel';
import { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { Mutex, Notifier, type RecoveredMessage } from '../src';

describe('Notifier (the building block other packages embed)', () => {
  test('async wait resolves on notify after the condition changes; timeout yields undefined', async () => {
    const m = sys.mapAnonymous(4096);
    Notifier.init(m.buffer, 256);
    const n = new Notifier(m.buffer, 256);
    const word = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 1);
    const waiting = n.wait(() => (Atomics.load(word, 0) === 1 ? 'set' : undefined));
    expect(n.sleepers).toBe(1);
    setTimeout(() => {
      Atomics.store(word, 0, 1); // publish, then notify
      n.notify();
    }, 5);
    expect(await waiting).toBe('set');
    expect(n.sleepers).toBe(0);
    expect(await n.wait(() => undefined, { timeoutMs: 15 })).toBeUndefined();
    n.cancelAll(new Error('done'));
    m.close();
  });

  test('blocking wait on a SharedArrayBuffer is woken by another thread', async () => {
    const sab = new SharedArrayBuffer(4096);
    const mem = new Uint8Array(sab);
    Notifier.init(mem, 0);
    const n = new Notifier(mem, 0);
    const flag = new Int32Array(sab, 1024, 1);
    const src = `
      const { workerData } = require('node:worker_threads');
      const flag = new Int32Array(workerData, 1024, 1);
      const h = new Int32Array(workerData, 0, 64);
      setTimeout(() => {
        Atomics.store(flag, 0, 7);
        // What Notifier.notify() does for SharedArrayBuffer sleepers.
        if (Atomics.exchange(h, 1, 0) !== 0) { Atomics.add(h, 0, 1); Atomics.notify(h, 0); }
      }, 20);`;
    const w = new Worker(src, { eval: true, workerData: sab });
    const v = n.waitSync(() => (Atomics.load(flag, 0) === 7 ? 7 : undefined), { timeoutMs: 5000, spinUs: 0 });
    expect(v).toBe(7);
    await w.terminate();
  });

  test('recoveries are published on diagnostics_channel shm-state:recovered', () => {
    const got: RecoveredMessage[] = [];
    const onMsg = (msg: unknown) => got.push(msg as RecoveredMessage);
    diagnostics.subscribe('shm-state:recovered', onMsg);
    try {
      const m = sys.mapAnonymous(4096);
      const mu = Mutex.create(m.buffer);
      new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 4)[2] = 0x3ffffe;
      mu.tryLock()?.unlock();
      expect(got).toEqual([{ structure: 'Mutex', what: 'took over a lock whose holder died', deadPid: 0x3ffffe }]);
      m.close();
    } finally {
      diagnostics.unsubscribe('shm-state:recovered', onMsg);
    }
  });
});
