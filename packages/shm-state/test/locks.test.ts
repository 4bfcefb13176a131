import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { currentThreadId, Mutex, Semaphore } from '../src';

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

  test('tryEnter/exit: no guard; busy and awaiting-repair states answer false; exit checks ownership', () => {
    const m = sys.mapAnonymous(4096);
    const mu = Mutex.create(m.buffer);
    expect(mu.tryEnter()).toBe(true);
    expect(mu.holder).toBe(process.pid);
    expect(mu.tryLock()).toBeNull();
    mu.exit();
    expect(mu.holder).toBe(0);
    // A dead holder: tryEnter declines (the guarded path must see ownerDead and repair) and leaves the lock free.
    const words = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 8);
    words[2] = DEAD;
    expect(mu.tryEnter()).toBe(false);
    const g = mu.lockSync({ timeoutMs: 2000 });
    expect(g?.ownerDead).toBe(true);
    g?.unlock(); // not marked consistent
    expect(mu.tryEnter()).toBe(false);
    expect(mu.holder).toBe(0);
    const g2 = mu.tryLock();
    expect(g2?.ownerDead).toBe(true);
    g2?.markConsistent();
    g2?.unlock();
    expect(mu.tryEnter()).toBe(true);
    // Taken over by another process meanwhile: exit() refuses.
    words[2] = DEAD;
    expect(() => mu.exit()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_NOT_OWNER' }));
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

describe("owner: 'thread'", () => {
  test('a worker thread that exits holding the mutex is taken over while its process lives', async () => {
    const file = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `shm-state-owner-${process.pid}`);
    using fd = SharedFd.openFile(file, { create: true, size: 4096 });
    fs.rmSync(file);
    const map = fd.map();
    const mine = Mutex.create(map.buffer, { owner: 'thread' });
    const byPid = Mutex.open(map.buffer); // a process-owned handle on the same lock
    // The worker locks and exits without unlocking; it reports its thread id.
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();
      const sys = require(${JSON.stringify(path.join(__dirname, '..', '..', 'shm-fd', 'src', 'sys', 'index.ts'))});
      const { Mutex, currentThreadId } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.ts'))});
      const m = sys.map(workerData.fd);
      const mu = Mutex.open(m.buffer, { owner: 'thread' });
      mu.tryLock();
      parentPort.postMessage({ holder: mu.holder, me: currentThreadId(), heldByMe: mu.heldByMe });`;
    const w = new Worker(src, { eval: true, workerData: { fd: fd.fd } });
    const msg = await new Promise<{ holder: number; me: number; heldByMe: boolean }>((resolve) => w.once('message', resolve));
    await new Promise((resolve) => w.once('exit', resolve));
    expect(msg.holder).toBe(msg.me);
    expect(msg.me).not.toBe(process.pid);
    expect(msg.heldByMe).toBe(true);
    expect(mine.holder).toBe(msg.me);
    expect(mine.heldByMe).toBe(false);
    // The thread is gone, the process is not: only the thread id tells.
    const g = mine.lockSync({ timeoutMs: 5000 });
    expect([g?.ownerDead, g?.deadOwner, mine.recoveries]).toEqual([true, msg.me, 1]);
    expect(mine.holder).toBe(currentThreadId());
    expect(mine.heldByMe).toBe(true);
    expect(byPid.tryLock()).toBeNull(); // process- and thread-owned handles exclude each other
    g?.unlock();
    const g2 = byPid.tryLock();
    expect(g2).not.toBeNull();
    expect(mine.tryLock()).toBeNull();
    g2?.unlock();
    mine.close();
    byPid.close();
    map.close();
  });

  test('an unknown owner kind is refused', () => {
    const m = sys.mapAnonymous(4096);
    expect(() => Mutex.create(m.buffer, { owner: 'fiber' as 'thread' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    m.close();
  });
});

describe('Semaphore: several permits at once, openOrCreate', () => {
  test('acquireMany takes all or nothing, and recovers dead holders', async () => {
    const m = sys.mapAnonymous(4096);
    const s = Semaphore.openOrCreate(m.buffer, { permits: 3 });
    expect(Semaphore.openOrCreate(m.buffer, { permits: 1 }).permits).toBe(3); // existing: its own count
    const one = s.tryAcquire();
    expect(s.tryAcquireMany(3)).toBeNull();
    expect(s.available).toBe(2); // the failed attempt took nothing
    expect(s.acquireManySync(3, { timeoutMs: 30 })).toBeNull();
    const all = s.acquireMany(3, { timeoutMs: 5000 });
    setTimeout(() => one?.unlock(), 10);
    const got = await all;
    expect(got).toHaveLength(3);
    expect(s.available).toBe(0);
    for (const g of got ?? []) g.unlock();
    // Two permits held by a dead process: taken over together.
    const holders = new Int32Array(m.buffer.buffer, m.buffer.byteOffset + 320, 3);
    holders[0] = DEAD;
    holders[2] = DEAD;
    const many = s.acquireManySync(3, { timeoutMs: 2000 });
    expect(many?.filter((g) => g.deadOwner === DEAD)).toHaveLength(2);
    expect(s.recoveries).toBe(2);
    for (const g of many ?? []) g.unlock();
    expect(() => s.tryAcquireMany(4)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => s.tryAcquireMany(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    s.close();
    m.close();
  });

  test('openOrCreate takes over a creation abandoned by a dead process', () => {
    const m = sys.mapAnonymous(4096);
    new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 8)[5] = DEAD; // creator word, no magic
    const s = Semaphore.openOrCreate(m.buffer, { offset: 0, permits: 2 });
    expect([s.permits, s.available]).toEqual([2, 2]);
    s.close();
    m.close();
  });
});
