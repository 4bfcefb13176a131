// Use after close: every buffer kind, every lock, and a lock whose buffer
// was closed under it fail with a coded error and never crash or hang.
import { IPCBuffer, Mutex, Semaphore } from '../src';

import { cleanup, kinds, removeTmp, uniqueName, thrownCode as code } from './kinds';

afterEach(cleanup);
afterAll(removeTmp);

const shared = kinds.filter(([k]) => !/^Buffer\.alloc|^memory|^alias/.test(k));

describe.each(shared)('%s after close()', (_kind, make) => {
  test('sync() throws ERR_SHM_CLOSED; the bytes read as zeros and accesses do not crash; close() is idempotent', () => {
    const b = make(4096) as IPCBuffer;
    b.fill(7);
    b.close();
    expect(b.closed).toBe(true);
    expect(code(() => b.sync())).toBe('ERR_SHM_CLOSED');
    expect(b.readUInt32LE(4092)).toBe(0);
    b.writeUInt32LE(0xdeadbeef, 0); // private memory now: no fault, nothing shared
    expect(() => b.close()).not.toThrow();
  });
});

describe.each([
  ['Mutex.at', (b: IPCBuffer) => Mutex.at(b, 64)],
  ['Semaphore.at', (b: IPCBuffer) => Semaphore.at(b, 1024)],
])('%s in a buffer that is then closed', (_what, place) => {
  test('every operation throws ERR_SHM_CLOSED instead of working on memory that is gone', async () => {
    const b = IPCBuffer.anonymous(4096);
    const lock = place(b);
    b.close();
    const ops: (() => unknown)[] = lock instanceof Mutex
      ? [() => lock.tryLock(), () => lock.lockSync(10), () => lock.holder, () => lock.recoveries, () => lock.unlock()]
      : [() => lock.tryAcquire(), () => lock.acquireSync({ timeoutMs: 10 }), () => lock.value, () => lock.max, () => lock.release()];
    for (const op of ops) expect(code(op)).toBe('ERR_SHM_CLOSED');
    const wait = lock instanceof Mutex ? lock.lock({ timeoutMs: 10 }) : lock.acquire({ timeoutMs: 10 });
    await expect(wait).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(() => lock.close()).not.toThrow();
  });

  test('placing a lock in a closed buffer (or an alias of one) throws ERR_SHM_CLOSED', () => {
    const b = IPCBuffer.anonymous(8192);
    const alias = IPCBuffer(b, 4096, 4096);
    b.close();
    expect(code(() => place(b))).toBe('ERR_SHM_CLOSED');
    expect(code(() => place(alias))).toBe('ERR_SHM_CLOSED');
  });

  test('a pending async wait is rejected when the buffer closes, not left waiting', async () => {
    const b = IPCBuffer.anonymous(4096);
    const holder = place(b);
    const waiter = place(b);
    if (holder instanceof Mutex) holder.lockSync();
    else holder.acquireSync();
    const wait = waiter instanceof Mutex ? waiter.lock() : waiter.acquire();
    b.close();
    await expect(wait).rejects.toMatchObject({ code: 'ERR_IPCBUFFER_LOCK_CLOSED' });
    expect(code(() => (waiter instanceof Mutex ? waiter.tryLock() : waiter.tryAcquire()))).toBe('ERR_SHM_CLOSED');
  });
});

test('named locks after close() keep ERR_IPCBUFFER_LOCK_CLOSED', () => {
  const name = uniqueName();
  const m = Mutex.open(name);
  const s = Semaphore.open(`${name}-s`);
  m.close();
  s.close();
  Mutex.unlink(name);
  Semaphore.unlink(`${name}-s`);
  expect(code(() => m.tryLock())).toBe('ERR_IPCBUFFER_LOCK_CLOSED');
  expect(code(() => s.tryAcquire())).toBe('ERR_IPCBUFFER_LOCK_CLOSED');
});
