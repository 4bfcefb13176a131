import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { Notifier } from '../src';
import { twoViews, type TwoViews } from './two-views';

// Notifier words (see notifier.ts): a header, then 15 slots of 4 words.
const SEQ = 0;
const NEED_WAKE = 4;
const ARMED = 8;
const slotAt = (i: number) => 16 + i * 16;
const ASLEEP = 0;
const PID = 4;
const FD = 8;
const INO = 12;

const EXTREMES = [-1, 1, 2, 0x7fffffff, -0x80000000, 0x3ffffe];

/** A notifier at offset 0 of a fresh memfd, and a condition word after it. */
function setup(): { v: TwoViews; n: Notifier; flag: Int32Array } {
  const v = twoViews(4096);
  Notifier.init(v.ours.buffer, 0);
  const n = new Notifier(v.ours.buffer, 0);
  const flag = new Int32Array(v.ours.buffer.buffer, v.ours.buffer.byteOffset + 1024, 1);
  return { v, n, flag };
}

/** A pipe of this process with its read end's inode; `pending()` reads what was written without blocking. */
function pipe(): { r: number; w: number; ino: number; pending: () => number; close: () => void } {
  const [r, w] = sys.pipe(true);
  const buf = Buffer.alloc(64);
  return {
    r,
    w,
    ino: fs.fstatSync(r).ino,
    pending: () => {
      try {
        return fs.readSync(r, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
        throw err;
      }
    },
    close: () => {
      fs.closeSync(r);
      fs.closeSync(w);
    },
  };
}

/** Publishes a forged sleeper in slot `i`: its address, then the asleep mark, as a sleeper would. */
function forge(v: TwoViews, i: number, pid: number, fd: number, ino: number): void {
  v.poke(slotAt(i) + PID, pid);
  v.poke(slotAt(i) + FD, fd);
  v.poke(slotAt(i) + INO, ino);
  v.poke(slotAt(i) + ASLEEP, 1);
  v.poke(ARMED, 1);
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('Notifier header words written by a peer', () => {
  for (const [word, at] of [['SEQ', SEQ], ['NEED_WAKE', NEED_WAKE], ['ARMED', ARMED]] as const) {
    test.each(EXTREMES)(`${word} = %i: notify() returns, waits end at their timeout, and a real change still wakes a waiter`, async (value) => {
      const { v, n, flag } = setup();
      v.poke(at, value);
      expect(() => n.notify()).not.toThrow();
      expect(n.waitSync(() => undefined, { timeoutMs: 30, spinUs: 0 })).toBeUndefined();
      expect(await n.wait(() => undefined, { timeoutMs: 30 })).toBeUndefined();
      v.poke(at, value);
      const waiting = n.wait(() => (Atomics.load(flag, 0) === 1 ? 'set' : undefined));
      v.poke(at, value);
      Atomics.store(flag, 0, 1);
      n.notify();
      // Woken by the bell, or at worst by the 500 ms backstop: the bound is the hang guard.
      expect(await waiting).toBe('set');
      n.cancelAll(new Error('done'));
      v.close();
    });
  }
});

describe('Notifier slot words written by a peer', () => {
  test.each([2, -1, 0x7fffffff, -0x80000000])('ASLEEP = %i on a slot naming a pipe of ours: never treated as asleep, nothing written', (value) => {
    const { v, n } = setup();
    const p = pipe();
    forge(v, 3, process.pid, p.r, p.ino);
    v.poke(slotAt(3) + ASLEEP, value);
    n.notify();
    expect(p.pending()).toBe(0);
    p.close();
    v.close();
  });

  test.each([-1, -0x80000000, 0x7fffffff, 0x3ffffe])('PID = %i (no such process): notify() returns, nothing opened, a dead pid\'s slot is freed', (pid) => {
    const { v, n } = setup();
    const before = openFds();
    forge(v, 5, pid, 3, 1234);
    expect(() => n.notify()).not.toThrow();
    expect(openFds()).toBe(before);
    const h = new Int32Array(v.peer.buffer.buffer, v.peer.buffer.byteOffset, 64);
    expect(Atomics.load(h, (slotAt(5) + ASLEEP) >> 2)).toBe(0);
    if (pid > 0) expect(Atomics.load(h, (slotAt(5) + PID) >> 2)).toBe(0);
    v.close();
  });

  test.each([-1, 0x7fffffff, -0x80000000, 100_000])('FD = %i: notify() returns and opens nothing', (fd) => {
    const { v, n } = setup();
    const before = openFds();
    forge(v, 0, process.pid, fd, 1);
    n.notify();
    expect(openFds()).toBe(before);
    v.close();
  });

  test('FD naming a regular file of ours with its true inode: never opened for writing', () => {
    const { v, n } = setup();
    const file = path.join(os.tmpdir(), `shm-state-notifier-${process.pid}`);
    fs.writeFileSync(file, 'precious');
    const fd = fs.openSync(file, 'r');
    const before = openFds();
    forge(v, 2, process.pid, fd, fs.fstatSync(fd).ino);
    n.notify();
    expect(openFds()).toBe(before);
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');
    fs.closeSync(fd);
    fs.rmSync(file);
    v.close();
  });

  test.each([-1, 1, 4])('INO off by %i from a real pipe of ours: the pipe gets nothing; with the true inode it gets its byte', (delta) => {
    const { v, n } = setup();
    const p = pipe();
    forge(v, 7, process.pid, p.r, p.ino + delta);
    n.notify();
    expect(p.pending()).toBe(0);
    // The same address with the right inode is rung: the check above can fail.
    forge(v, 7, process.pid, p.r, p.ino);
    n.notify();
    expect(p.pending()).toBe(1);
    p.close();
    v.close();
  });

  test('allowPeer is not asked about this process\'s own bells, and a refused pid is not opened', () => {
    const { v } = setup();
    const asked: number[] = [];
    const n = new Notifier(v.ours.buffer, 0, { allowPeer: (pid) => (asked.push(pid), false) });
    const p = pipe();
    forge(v, 1, process.pid, p.r, p.ino);
    n.notify();
    expect(p.pending()).toBe(1);
    const before = openFds();
    forge(v, 1, process.ppid, 0, 1);
    n.notify();
    expect(asked).toEqual([process.ppid]);
    expect(openFds()).toBe(before);
    p.close();
    v.close();
  });
});
