import { SpscQueue } from '../src';
import { thrown, twoViews } from './two-views';

// Byte offsets of the words a peer can write (see spsc-queue.ts).
const TAIL = 64;
const HEAD = 128;
const RING = 704;

describe('SpscQueue with a peer writing its words', () => {
  test('tail moved a million bytes ahead: tryPop fails with ERR_SHM_STATE_CORRUPT instead of returning phantom messages', () => {
    const v = twoViews(SpscQueue.byteLengthFor(1024));
    const q = SpscQueue.create(v.ours.buffer, { capacity: 1024 });
    q.tryPush(Buffer.from('real'));
    expect(q.tryPop()?.toString()).toBe('real');
    v.poke(TAIL, 8 + 4_000_000);
    expect(thrown(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'SpscQueue', word: 'tail/head' });
    expect(() => q.tryPopInto(Buffer.alloc(64))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    expect(() => q.drain(() => undefined)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    expect(() => q.drainRecords(() => undefined)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    expect(() => q.peekLength()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.close();
  });

  test('head moved behind tail by more than the ring: tryPop and tryPush report it', () => {
    const v = twoViews(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(v.ours.buffer, { capacity: 256 });
    v.poke(HEAD, -4096);
    expect(() => q.tryPop()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    // The producer sees a ring fuller than it can be, not "full" forever.
    expect(() => {
      for (let i = 0; i < 100; i++) q.tryPush(Buffer.alloc(16));
    }).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT', word: 'tail/head' }));
    expect(() => q.tryPushMany(Array.from({ length: 100 }, () => Buffer.alloc(16)))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT', word: 'tail/head' }));
    v.close();
  });

  test('positions a non-multiple of 4 apart are reported', () => {
    const v = twoViews(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(v.ours.buffer, { capacity: 256 });
    v.poke(TAIL, 6);
    expect(() => q.tryPop()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.close();
  });

  test('a record length word beyond what is queued is reported, the record stays', () => {
    const v = twoViews(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(v.ours.buffer, { capacity: 256 });
    q.tryPush(Buffer.from('abcdefgh'));
    v.poke(RING, 200);
    expect(thrown(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: expect.stringMatching(/length word/) });
    v.poke(RING, -1);
    expect(() => q.tryPop()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.poke(RING, 8);
    expect(q.tryPop()?.toString()).toBe('abcdefgh');
    v.close();
  });

  test('popSync and await pop stop with the coded error instead of spinning', async () => {
    const v = twoViews(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(v.ours.buffer, { capacity: 256 });
    const pending = q.pop({ timeoutMs: 10_000 });
    // Nobody notifies: the wait's periodic re-check (every 500 ms) finds it.
    v.poke(TAIL, 1 << 20);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    expect(() => q.popSync({ timeoutMs: 10_000 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.close();
  });
});
