import * as sys from '@shmkit/shm-fd/sys';

import { Mutex, Semaphore } from '../src';

const DEAD = 0x3ffffe; // above the default pid_max: never a live process

describe('Mutex', () => {
  test('excludes, reports the holder, and rejects a second unlock path', async () => {
    const m = sys.mapAnonymous(4096);
    const mu = Mutex.create(m.buffer, { offset: 64 });
    const g = mu.tryLock();
    expect(g).not.toBeNull();
    expect(g?.ownerDead).toBe(false);
    expect(mu.holder).toBe(process.pid);
    expect(mu.tryLock()).toBeNull();
    expect(mu.lockSync({ timeoutMs: 20 })).toBeNull();
    const waiting = mu.lock();
    setTimeout(() => g?.unlock(), 5);
    const g2 = await waiting;
    expect(g2).not.toBeNull();
    g2?.unlock();
    g2?.unlock(); // idempotent per guard
    expect(mu.holder).toBe(0);
    m.close();
  });

  test('takes over from a dead holder and says ownerDead until marked consistent', () => {
    const m = sys.mapAnonymous(4096);
    const mu = Mutex.create(m.buffer);
    new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 8)[2] = DEAD;
    const g = mu.lockSync({ timeoutMs: 2000 });
    expect(g?.ownerDead).toBe(true);
    expect(mu.recoveries).toBe(1);
    g?.unlock();
    const g2 = mu.tryLock();
    expect(g2?.ownerDead).toBe(true); // nobody repaired the data yet
    g2?.markConsistent();
    g2?.unlock();
    expect(mu.tryLock()?.ownerDead).toBe(false);
    m.close();
  });

  test('openOrCreate initialises zeroed memory once; open checks the header', () => {
    const m = sys.mapAnonymous(4096);
    expect(() => Mutex.open(m.buffer)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER' }));
    const a = Mutex.openOrCreate(m.buffer);
    const g = a.tryLock();
    const b = Mutex.openOrCreate(m.buffer);
    expect(b.holder).toBe(process.pid);
    g?.unlock();
    m.close();
  });

  test('openOrCreate takes over a creation abandoned by a dead process', () => {
    const m = sys.mapAnonymous(4096);
    const w = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 16);
    Atomics.store(w, 1, 1); // version written, magic never
    Atomics.store(w, 5, DEAD);
    const mu = Mutex.openOrCreate(m.buffer);
    expect(mu.tryLock()?.ownerDead).toBe(false);
    m.close();
  });

  test('withLock and withLockSync release on throw', async () => {
    const m = sys.mapAnonymous(4096);
    const mu = Mutex.create(m.buffer);
    expect(() => mu.withLockSync(() => { throw new Error('boom'); })).toThrow('boom');
    await expect(mu.withLock(async () => { throw new Error('boom2'); })).rejects.toThrow('boom2');
    expect(mu.holder).toBe(0);
    expect(await mu.withLock(() => 42)).toBe(42);
    m.close();
  });
});

describe('Semaphore', () => {
  test('hands out exactly `permits` and recovers a dead holder', async () => {
    const m = sys.mapAnonymous(4096);
    const s = Semaphore.create(m.buffer, { permits: 3 });
    const gs = [s.tryAcquire(), s.tryAcquire(), s.tryAcquire()];
    expect(gs.every((g) => g !== null)).toBe(true);
    expect(s.available).toBe(0);
    expect(s.tryAcquire()).toBeNull();
    const waiting = s.acquire();
    gs[1]?.unlock();
    expect(await waiting).not.toBeNull();
    // Fake a permit held by a dead process.
    gs[0]?.unlock();
    const holders = new Int32Array(m.buffer.buffer, m.buffer.byteOffset + 320, 3);
    const i = holders.indexOf(0);
    holders[i] = DEAD;
    const g = s.acquireSync({ timeoutMs: 2000 });
    expect(g?.ownerDead).toBe(true);
    expect(s.recoveries).toBe(1);
    expect(() => Semaphore.open(m.buffer, { offset: 8 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER' }));
    expect(Semaphore.open(m.buffer).permits).toBe(3);
    m.close();
  });
});
