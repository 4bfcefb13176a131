import * as sys from '@shmkit/shm-fd/sys';

import { Counter32, Counter64, HashMap, Int32Cell, Int64Cell, MpmcQueue, Mutex, Notifier, Ring, Semaphore, Seq, ShmState, SpscQueue, Struct, t } from '../src';

const CLOSED = expect.objectContaining({ code: 'ERR_SHM_CLOSED' });

describe('handles over a mapping that was closed', () => {
  test('every structure throws ERR_SHM_CLOSED instead of answering from the zeroed pages', () => {
    const m = sys.mapAnonymous(1 << 20);
    const mem = m.buffer;
    const spsc = SpscQueue.create(mem, { offset: 0, capacity: 1024 });
    const mpmc = MpmcQueue.create(mem, { offset: 4096, capacity: 8, slotSize: 16 });
    const mu = Mutex.create(mem, { offset: 8192 });
    const sem = Semaphore.create(mem, { offset: 8192 + 512, permits: 2 });
    const map = HashMap.create(mem, { offset: 16384, capacity: 16, keySize: 8, valueSize: 8 });
    const ring = Ring.create(mem, { offset: 32768, count: 4 });
    const seq = Seq.create(mem, { offset: 36864, buffer: 256 });
    const st = Struct.create(mem, { offset: 40960, layout: t.struct({ n: t.u32, name: t.bytes(8) }) });
    const n = new Notifier(mem, 61440);
    Notifier.init(mem, 61440);
    const i32 = new Int32Cell(mem, 65536);
    const i64 = new Int64Cell(mem, 65544);
    const c32 = new Counter32(mem, 65552);
    const c64 = new Counter64(mem, 65560);
    spsc.tryPush(Buffer.from('x'));
    map.set('k', 'v');
    seq.set(Buffer.from('value'));
    st.view['n'] = 7;

    m.close();

    expect(() => spsc.tryPop()).toThrow(CLOSED);
    expect(() => spsc.tryPush(Buffer.from('y'))).toThrow(CLOSED);
    expect(() => mpmc.tryPush(Buffer.from('y'))).toThrow(CLOSED);
    expect(() => mpmc.tryPop()).toThrow(CLOSED);
    expect(() => mu.tryLock()).toThrow(CLOSED);
    expect(() => mu.holder).toThrow(CLOSED);
    expect(() => sem.tryAcquire()).toThrow(CLOSED);
    expect(() => sem.available).toThrow(CLOSED);
    expect(() => map.get('k')).toThrow(CLOSED);
    expect(() => [...map.entries()]).toThrow(CLOSED);
    expect(() => ring.frozen()).toThrow(CLOSED);
    expect(() => seq.get()).toThrow(CLOSED);
    expect(() => st.view['n']).toThrow(CLOSED);
    expect(() => (st.view['name'] = 'x')).toThrow(CLOSED);
    expect(() => n.notify()).toThrow(CLOSED);
    expect(() => i32.load()).toThrow(CLOSED);
    expect(() => i64.load()).toThrow(CLOSED);
    expect(() => c32.increment()).toThrow(CLOSED);
    expect(() => c64.value).toThrow(CLOSED);
    // The Buffer itself stays safe to touch: it now addresses private zeros.
    expect(mem[0]).toBe(0);
    mem[0] = 1;
    expect(mem[0]).toBe(1);
  });

  test('pending async waits reject with ERR_SHM_CLOSED once the mapping is closed', async () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(256) + MpmcQueue.byteLengthFor(4, 8));
    const spsc = SpscQueue.create(m.buffer, { capacity: 256 });
    const mpmc = MpmcQueue.create(m.buffer, { offset: SpscQueue.byteLengthFor(256), capacity: 4, slotSize: 8 });
    const pending = [spsc.pop({ timeoutMs: 10_000 }), mpmc.pop({ timeoutMs: 10_000 })];
    m.close();
    const settled = await Promise.allSettled(pending);
    expect(settled).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ code: 'ERR_SHM_CLOSED' }) },
      { status: 'rejected', reason: expect.objectContaining({ code: 'ERR_SHM_CLOSED' }) },
    ]);
  });

  test('ShmState handles made from a mapping closed under them throw ERR_SHM_CLOSED', () => {
    const m = sys.mapAnonymous(1 << 20);
    const state = ShmState.open(m.buffer);
    const c = state.counter64('c');
    c.increment();
    m.close();
    expect(() => c.value).toThrow(CLOSED);
    expect(() => state.regions()).toThrow(CLOSED);
  });
});
