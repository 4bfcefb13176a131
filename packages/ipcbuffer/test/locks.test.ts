// Mutex and Semaphore in one process: state machine, timeouts, async
// waiting, recovery from a dead holder (simulated by writing a thread id
// that does not exist into shm-state's owner words), and argument errors.
// Multi-process behaviour is in tests-integration/test/ipcbuffer-locks.test.ts.
import diagnostics from 'node:diagnostics_channel';

import { IPCBuffer, Mutex, Semaphore, SEMAPHORE_BYTES } from '../src';

import { removeTmp, uniqueName, thrownCode as code } from './kinds';

const DEAD = 2 ** 22 + 7; // above the kernel's largest pid_max: never a live thread
const LIVE_OTHER = 1; // init: alive, and never this test
// shm-state's layouts: a Mutex's owner word is int32 #2; a Semaphore's
// permit owner words start at byte 320.
const MUTEX_OWNER = 8;
const PERMIT0 = 320;

const undo: (() => void)[] = [];
afterEach(() => {
  while (undo.length > 0) undo.pop()?.();
});
afterAll(removeTmp);

function sharedBuffer(n = 4096): IPCBuffer {
  const b = IPCBuffer.anonymous(n);
  undo.push(() => b.close());
  return b;
}

describe('Mutex', () => {
  test('tryLock / unlock / holder, and misuse errors', () => {
    const m = Mutex.at(sharedBuffer());
    expect(m.holder).toBe(0);
    expect(m.tryLock()).toBe(true);
    expect(m.holder).toBe(process.pid);
    expect(m.tryLock()).toBe(false);
    expect(code(() => m.lockSync())).toBe('ERR_IPCBUFFER_LOCK_STATE');
    m.unlock();
    expect(m.holder).toBe(0);
    expect(code(() => m.unlock())).toBe('ERR_IPCBUFFER_LOCK_STATE');
    m.lockSync();
    m.unlock();
    m.close();
    expect(code(() => m.tryLock())).toBe('ERR_IPCBUFFER_LOCK_CLOSED');
  });

  test('lockSync and lock() time out while another live thread holds it', async () => {
    const b = sharedBuffer();
    const m = Mutex.at(b, 64);
    undo.push(() => m.close());
    b.writeInt32LE(LIVE_OTHER, 64 + MUTEX_OWNER);
    const t = Date.now();
    expect(code(() => m.lockSync(120))).toBe('ERR_IPCBUFFER_LOCK_TIMEOUT');
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
    await expect(m.lock({ timeoutMs: 80 })).rejects.toMatchObject({ code: 'ERR_IPCBUFFER_LOCK_TIMEOUT', message: expect.stringMatching(/not acquired within 80 ms/) });
    const ac = new AbortController();
    const p = m.lock({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  test('a dead holder is taken over, sync and async, and recovered says so', async () => {
    const b = sharedBuffer();
    const m = Mutex.at(b);
    undo.push(() => m.close());
    const events: unknown[] = [];
    const onEvent = (e: unknown) => events.push(e);
    diagnostics.subscribe('ipcbuffer:lock:recovered', onEvent);
    undo.push(() => diagnostics.unsubscribe('ipcbuffer:lock:recovered', onEvent));
    b.writeInt32LE(DEAD, MUTEX_OWNER);
    m.lockSync(1000);
    expect([m.holder, m.recovered, m.recoveries]).toEqual([process.pid, true, 1]);
    expect(events).toEqual([expect.objectContaining({ deadHolder: DEAD, by: process.pid })]);
    m.unlock();
    m.lockSync();
    expect(m.recovered).toBe(false);
    m.unlock();
    b.writeInt32LE(DEAD, MUTEX_OWNER);
    expect(m.tryLock()).toBe(true); // tryLock takes over too
    expect([m.recovered, m.recoveries]).toEqual([true, 2]);
    m.unlock();
    b.writeInt32LE(DEAD, MUTEX_OWNER);
    await m.lock({ timeoutMs: 1000 });
    expect([m.recovered, m.recoveries]).toEqual([true, 3]);
    expect(events).toHaveLength(3);
    m.unlock();
  });

  test('async callers in one thread queue behind the holder and are woken by unlock', async () => {
    const m = Mutex.at(sharedBuffer());
    undo.push(() => m.close());
    const order: string[] = [];
    await m.lock();
    const second = m.lock().then(() => order.push('second'));
    const third = m.withLock(() => order.push('third'));
    await new Promise((r) => setTimeout(r, 30));
    expect(order).toEqual([]);
    order.push('first');
    m.unlock();
    await second;
    m.unlock();
    await third;
    expect(order).toEqual(['first', 'second', 'third']);
    expect(m.holder).toBe(0);
  });

  test('withLock releases when fn throws', async () => {
    const m = Mutex.at(sharedBuffer());
    undo.push(() => m.close());
    await expect(m.withLock(() => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(m.holder).toBe(0);
  });

  test('named: two handles on one name are one lock; Mutex.unlink removes the name', () => {
    const name = uniqueName();
    const a = Mutex.open(name);
    const b = Mutex.open(name, { create: false });
    undo.push(() => { a.close(); b.close(); });
    expect(a.tryLock()).toBe(true);
    expect(b.holder).toBe(process.pid);
    a.unlock();
    Mutex.unlink(name);
    expect(code(() => Mutex.open(name, { create: false }))).toBe('ENOENT');
  });

  test('argument errors', () => {
    expect(code(() => Mutex.at(Buffer.alloc(64) as IPCBuffer))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => Mutex.at(IPCBuffer(64)))).toBe('ERR_INVALID_ARG_VALUE');
    expect(code(() => Mutex.at('x' as unknown as IPCBuffer))).toBe('ERR_INVALID_ARG_TYPE');
    const b = sharedBuffer();
    expect(code(() => Mutex.at(b, 2))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Mutex.at(b, 4096 - 8))).toBe('ERR_OUT_OF_RANGE');
    b.writeInt32LE(0x1234, 128);
    expect(code(() => Mutex.at(b, 128))).toBe('ERR_IPCBUFFER_NOT_A_LOCK');
    const m = Mutex.at(b, 256);
    undo.push(() => m.close());
    expect(code(() => m.lockSync(-1))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Semaphore.at(b, 256))).toBe('ERR_IPCBUFFER_NOT_A_LOCK');
  });
});

describe('Semaphore', () => {
  test('permits, max, release errors', () => {
    const s = Semaphore.at(sharedBuffer(), 0, { initial: 3 });
    undo.push(() => s.close());
    expect([s.value, s.max]).toEqual([3, 3]);
    expect(s.tryAcquire()).toBe(true);
    expect(s.tryAcquire(2)).toBe(true);
    expect(s.tryAcquire()).toBe(false);
    expect(s.value).toBe(0);
    s.release(2);
    expect(s.value).toBe(2);
    expect(code(() => s.release(2))).toBe('ERR_IPCBUFFER_LOCK_STATE');
    s.release();
    expect(s.value).toBe(3);
    expect(code(() => s.tryAcquire(0))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => s.tryAcquire(4))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => s.acquireSync({ permits: 4 }))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => Semaphore.at(sharedBuffer(), 0, { initial: 0 }))).toBe('ERR_OUT_OF_RANGE');
    expect(SEMAPHORE_BYTES).toBeLessThanOrEqual(1024);
  });

  test('acquireSync / acquire time out; a release wakes an async acquirer', async () => {
    const s = Semaphore.at(sharedBuffer(), 0, { initial: 1 });
    undo.push(() => s.close());
    s.acquireSync();
    expect(code(() => s.acquireSync({ timeoutMs: 50 }))).toBe('ERR_IPCBUFFER_LOCK_TIMEOUT');
    await expect(s.acquire({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'ERR_IPCBUFFER_LOCK_TIMEOUT' });
    const got = s.acquire({ timeoutMs: 5000 });
    setTimeout(() => s.release(), 20);
    await got;
    expect(s.value).toBe(0);
    s.release();
    expect(await s.withPermit(() => s.value)).toBe(0);
    expect(s.value).toBe(1);
  });

  test('permits of a dead holder are taken over by waiters, one by one or together', async () => {
    const b = sharedBuffer();
    const s = Semaphore.at(b, 0, { initial: 2 });
    undo.push(() => s.close());
    const events: { deadHolder: number; permits: number }[] = [];
    const onEvent = (e: unknown) => events.push(e as { deadHolder: number; permits: number });
    diagnostics.subscribe('ipcbuffer:lock:recovered', onEvent);
    undo.push(() => diagnostics.unsubscribe('ipcbuffer:lock:recovered', onEvent));
    // A holder that died holding both permits.
    b.writeInt32LE(DEAD, PERMIT0);
    b.writeInt32LE(DEAD, PERMIT0 + 4);
    expect(s.value).toBe(0);
    s.acquireSync({ timeoutMs: 1000 });
    expect([s.value, s.recoveries]).toEqual([0, 1]);
    s.release();
    expect(s.value).toBe(1);
    // One free, one still held by the dead thread: both together.
    await s.acquire({ permits: 2, timeoutMs: 1000 });
    expect([s.value, s.recoveries]).toEqual([0, 2]);
    expect(events).toEqual([expect.objectContaining({ deadHolder: DEAD, permits: 1 }), expect.objectContaining({ deadHolder: DEAD, permits: 1 })]);
    s.release(2);
    expect(s.value).toBe(2);
  });

  test('acquiring several permits is all or nothing, so two such callers never deadlock', async () => {
    const b = sharedBuffer();
    const s = Semaphore.at(b, 0, { initial: 3 });
    const t = Semaphore.at(b, 0);
    undo.push(() => { s.close(); t.close(); });
    expect(t.max).toBe(3); // initial applies only to the creator
    expect(s.tryAcquire(2)).toBe(true);
    expect(t.tryAcquire(2)).toBe(false);
    expect(t.value).toBe(1); // the failed try took nothing
    const both = t.acquire({ permits: 2, timeoutMs: 2000 });
    expect(code(() => t.release())).toBe('ERR_IPCBUFFER_LOCK_STATE'); // t holds nothing yet
    setTimeout(() => s.release(), 20);
    await both;
    expect(s.value).toBe(0);
    t.release(2);
    s.release();
    expect(s.value).toBe(3);
  });

  test('named semaphores: initial applies only to the creator', () => {
    const name = uniqueName();
    const a = Semaphore.open(name, { initial: 4 });
    const b = Semaphore.open(name, { initial: 1 });
    undo.push(() => { a.close(); b.close(); Semaphore.unlink(name); });
    expect([b.value, b.max]).toEqual([4, 4]);
    a.acquireSync({ permits: 3 });
    expect(b.value).toBe(1);
    // Permits are owned: only the object that acquired them gives them back.
    expect(code(() => b.release(3))).toBe('ERR_IPCBUFFER_LOCK_STATE');
    a.release(3);
    expect(a.value).toBe(4);
    expect(code(() => Semaphore.open(uniqueName(), { initial: 945 }))).toBe('ERR_OUT_OF_RANGE');
  });
});
