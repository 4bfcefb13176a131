import { MpmcQueue } from '../src';
import { thrown, twoViews } from './two-views';

// Byte offsets of the words a peer can write (see mpmc-queue.ts).
const ENQ = 64;
const DEQ = 128;
const SLOTS = 704;
const STRIDE = 16 + 16; // slot header + 16-byte payload
const seqOf = (i: number) => SLOTS + i * STRIDE;
const ownerOf = (i: number) => SLOTS + i * STRIDE + 4;
const lenOf = (i: number) => SLOTS + i * STRIDE + 8;

function queue(capacity = 8) {
  const v = twoViews(MpmcQueue.byteLengthFor(capacity, 16));
  const q = MpmcQueue.create(v.ours.buffer, { capacity, slotSize: 16 });
  return { v, q };
}

describe('MpmcQueue with a peer writing its words', () => {
  test('enqueue position moved ahead of unwritten slots: tryPop throws ERR_SHM_STATE_CORRUPT instead of spinning', () => {
    const { v, q } = queue();
    v.poke(ENQ, 5);
    expect(thrown(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'MpmcQueue', word: 'the enqueue position' });
    v.close();
  });

  test('positions further apart than the slots: reported', () => {
    const { v, q } = queue();
    v.poke(ENQ, 1_000_000);
    expect(thrown(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: 'the enqueue/dequeue positions' });
    v.close();
  });

  test('a slot sequence word ahead of the enqueue position: tryPush throws instead of spinning', () => {
    const { v, q } = queue();
    v.poke(seqOf(0), 3);
    expect(thrown(() => q.tryPush(Buffer.from('x')))).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: 'the sequence word of slot 0' });
    v.close();
  });

  test('a slot sequence word ahead of the dequeue position: tryPop throws', () => {
    const { v, q } = queue();
    q.tryPush(Buffer.from('x'));
    v.poke(seqOf(0), 7);
    expect(() => q.tryPop()).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT', word: 'the sequence word of slot 0' }));
    v.close();
  });

  test('a live pid written into a slot owner word: tryPush and tryPop answer "not now" instead of waiting for it', () => {
    const { v, q } = queue();
    v.poke(ownerOf(0), process.ppid); // alive, and never going to release it
    expect(q.tryPush(Buffer.from('x'))).toBe(false);
    v.poke(ownerOf(0), 0);
    expect(q.tryPush(Buffer.from('x'))).toBe(true);
    v.poke(ownerOf(0), process.ppid);
    expect(q.tryPop()).toBeNull();
    expect(q.popSync({ timeoutMs: 100 })).toBeNull();
    v.poke(ownerOf(0), 0);
    expect(q.tryPop()?.toString()).toBe('x');
    v.close();
  });

  test('a length word larger than a slot: the message is skipped with the coded error, the queue goes on', () => {
    const { v, q } = queue();
    q.tryPush(Buffer.from('bad'));
    q.tryPush(Buffer.from('good'));
    v.poke(lenOf(0), 1 << 20);
    expect(thrown(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: 'the length word of slot 0' });
    expect(q.tryPop()?.toString()).toBe('good');
    v.close();
  });

  test('popSync and await pop end with the coded error when the positions are corrupted while they wait', async () => {
    const { v, q } = queue();
    const pending = q.pop({ timeoutMs: 10_000 });
    v.poke(ENQ, 3); // noticed by the 50 ms re-check
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    expect(() => q.popSync({ timeoutMs: 10_000 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.poke(DEQ, 3);
    expect(q.tryPop()).toBeNull();
    v.close();
  });
});
