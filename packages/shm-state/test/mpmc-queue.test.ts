import * as sys from '@shmkit/shm-fd/sys';

import { MpmcQueue } from '../src';

describe('MpmcQueue', () => {
  test('FIFO through many wraps; full and empty are reported', () => {
    const m = sys.mapAnonymous(MpmcQueue.byteLengthFor(8, 16));
    const q = MpmcQueue.create(m.buffer, { capacity: 8, slotSize: 16 });
    let next = 0;
    let expect_ = 0;
    for (let round = 0; round < 1000; round++) {
      const n = 1 + (round % 8);
      for (let i = 0; i < n; i++) expect(q.tryPush(Buffer.from(String(next++)))).toBe(true);
      if (n === 8) expect(q.tryPush(Buffer.from('x'))).toBe(false);
      expect(q.length).toBe(n);
      for (let i = 0; i < n; i++) expect(q.tryPop()?.toString()).toBe(String(expect_++));
      expect(q.tryPop()).toBeNull();
    }
    m.close();
  });

  test('messages longer than a slot are refused; empty messages work', () => {
    const m = sys.mapAnonymous(MpmcQueue.byteLengthFor(4, 8));
    const q = MpmcQueue.create(m.buffer, { capacity: 4, slotSize: 8 });
    expect(() => q.tryPush(Buffer.alloc(9))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
    expect(q.tryPush(Buffer.alloc(0))).toBe(true);
    expect(q.tryPop()).toEqual(Buffer.alloc(0));
    m.close();
  });

  test('reopens at an offset; bad headers are reported', () => {
    const m = sys.mapAnonymous(16384);
    const q = MpmcQueue.create(m.buffer, { offset: 1024, capacity: 16, slotSize: 64 });
    q.tryPush(Buffer.from('kept'));
    expect(MpmcQueue.open(m.buffer, { offset: 1024 }).tryPop()?.toString()).toBe('kept');
    expect(() => MpmcQueue.open(m.buffer)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER' }));
    m.buffer.writeInt32LE(3, 1024 + 8); // capacity 3: not a power of two
    expect(() => MpmcQueue.open(m.buffer, { offset: 1024 })).toThrow(/power of two/);
    m.close();
  });

  test('a slot abandoned mid-push by a dead pid is repaired into a skipped tombstone', () => {
    const m = sys.mapAnonymous(MpmcQueue.byteLengthFor(4, 8));
    const q = MpmcQueue.create(m.buffer, { capacity: 4, slotSize: 8 });
    q.tryPush(Buffer.from('a'));
    // Simulate a producer killed after claiming position 1 and moving enq.
    const h = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, m.buffer.length >> 2);
    const deadPid = 0x3ffffe; // above the default pid_max: never alive
    const slot1 = (704 + 1 * 24) / 4;
    Atomics.store(h, slot1 + 1, deadPid);
    Atomics.store(h, 16, 2); // enq
    q.tryPush(Buffer.from('c'));
    expect(q.tryPop()?.toString()).toBe('a');
    const end = performance.now() + 2000;
    let got: Buffer | null = null;
    while (got === null && performance.now() < end) got = q.tryPop();
    expect(got?.toString()).toBe('c');
    expect(q.stats()).toEqual({ repairs: 1, dropped: 1 });
    m.close();
  });

  test('async pop wakes on push', async () => {
    const m = sys.mapAnonymous(MpmcQueue.byteLengthFor(4, 8));
    const q = MpmcQueue.create(m.buffer, { capacity: 4, slotSize: 8 });
    const p = Promise.all([q.pop(), q.pop()]);
    setTimeout(() => {
      q.tryPush(Buffer.from('1'));
      q.tryPush(Buffer.from('2'));
    }, 5);
    expect((await p).map(String).sort()).toEqual(['1', '2']);
    m.close();
  });
});
