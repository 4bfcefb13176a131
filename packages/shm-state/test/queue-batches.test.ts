import * as sys from '@shmkit/shm-fd/sys';

import { MpmcQueue, SpscQueue } from '../src';

function queue(capacity: number) {
  const m = sys.mapAnonymous(SpscQueue.byteLengthFor(capacity));
  return { m, q: SpscQueue.create(m.buffer, { capacity }) };
}

const msg = (i: number, size = 4 + (i % 40)) => {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32LE(i, 0);
  return b;
};

describe('SpscQueue batches (for await)', () => {
  test('yields every waiting message in order, at most maxMessages per batch, then waits for more', async () => {
    const { m, q } = queue(4096);
    for (let i = 0; i < 25; i++) expect(q.tryPush(msg(i))).toBe(true);
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const batch of q.batches({ maxMessages: 10 })) {
      sizes.push(batch.length);
      for (const v of batch) {
        expect(v).toEqual(msg(v.readUInt32LE(0)));
        seen.push(v.readUInt32LE(0));
      }
      if (seen.length === 25) setTimeout(() => q.tryPush(msg(25)), 5);
      if (seen.length === 26) break;
    }
    expect(sizes).toEqual([10, 10, 5, 1]);
    expect(seen).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(q.isEmpty).toBe(true);
    q.close();
    m.close();
  });

  test('a batch is released when the loop body ends, so the producer gets the room back', async () => {
    const { m, q } = queue(64);
    // 64-byte ring: 8 records of 4 + 4 bytes fill it.
    let pushed = 0;
    while (q.tryPush(msg(pushed, 4))) pushed++;
    expect(pushed).toBe(8);
    for await (const batch of q) {
      expect(batch.length).toBe(8);
      // Still held while the body runs.
      expect(q.tryPush(msg(99, 4))).toBe(false);
      break;
    }
    expect(q.isEmpty).toBe(true);
    expect(q.tryPush(msg(99, 4))).toBe(true);
    q.close();
    m.close();
  });

  test('records that wrap around the end of the ring arrive whole', async () => {
    const { m, q } = queue(256);
    expect(q.tryPush(Buffer.alloc(200, 1))).toBe(true);
    expect(q.tryPop()?.length).toBe(200);
    const big = Buffer.alloc(150);
    for (let i = 0; i < big.length; i++) big[i] = i;
    expect(q.tryPush(big)).toBe(true); // starts at byte 204, wraps
    for await (const batch of q) {
      expect(batch).toEqual([big]);
      break;
    }
    q.close();
    m.close();
  });

  test('closing the handle ends a loop waiting on an empty queue, and one that closes from inside', async () => {
    const { m, q } = queue(1024);
    const loop = (async () => {
      let n = 0;
      for await (const batch of q) n += batch.length;
      return n;
    })();
    q.tryPush(msg(1));
    await new Promise((r) => setTimeout(r, 20));
    q.close();
    await expect(loop).resolves.toBe(1);

    const q2 = SpscQueue.create(m.buffer, { capacity: 1024 });
    q2.tryPush(msg(2));
    q2.tryPush(msg(3));
    let batches = 0;
    for await (const batch of q2) {
      batches++;
      expect(batch.length).toBe(2);
      q2.close();
    }
    expect(batches).toBe(1);
    // Closed inside the body: nothing was released, the next consumer gets both again.
    const again = SpscQueue.open(m.buffer);
    expect(again.tryPop()).toEqual(msg(2));
    expect(again.tryPop()).toEqual(msg(3));
    again.close();
    m.close();
  });

  test('an abort signal ends the loop with an AbortError', async () => {
    const { m, q } = queue(1024);
    const ac = new AbortController();
    const loop = (async () => {
      for await (const batch of q.batches({ signal: ac.signal })) void batch;
    })();
    setTimeout(() => ac.abort(), 10);
    await expect(loop).rejects.toMatchObject({ code: 'ABORT_ERR' });
    q.close();
    m.close();
  });

  test('a mapping closed under the loop throws ERR_SHM_CLOSED', async () => {
    const { m, q } = queue(1024);
    q.tryPush(msg(1));
    const loop = (async () => {
      for await (const batch of q) {
        expect(batch.length).toBe(1);
        m.close();
      }
    })();
    await expect(loop).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
  });

  test('a length word no record can have is reported as corruption, not used', async () => {
    const { m, q } = queue(1024);
    q.tryPush(msg(1, 16));
    // The ring starts after the 704-byte header; the first record's length word is there.
    m.buffer.writeInt32LE(5000, 704);
    const loop = (async () => {
      for await (const batch of q) void batch;
    })();
    await expect(loop).rejects.toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    q.close();
    m.close();
  });

  test('maxMessages must be a positive integer', async () => {
    const { m, q } = queue(1024);
    await expect(q.batches({ maxMessages: 0 }).next()).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    q.close();
    m.close();
  });
});

describe('MpmcQueue batches (for await)', () => {
  function mpmc(capacity: number) {
    const m = sys.mapAnonymous(MpmcQueue.byteLengthFor(capacity, 16));
    return { m, q: MpmcQueue.create(m.buffer, { capacity, slotSize: 16 }) };
  }

  test('yields copies of every waiting message in order, at most maxMessages per batch; they stay valid after the body', async () => {
    const { m, q } = mpmc(64);
    for (let i = 0; i < 25; i++) expect(q.tryPush(msg(i, 8))).toBe(true);
    const kept: Buffer[] = [];
    const sizes: number[] = [];
    for await (const batch of q.batches({ maxMessages: 10 })) {
      sizes.push(batch.length);
      kept.push(...batch);
      if (kept.length === 25) break;
    }
    expect(sizes).toEqual([10, 10, 5]);
    // Copies: refilling the slots does not change what was kept.
    for (let i = 100; i < 164; i++) q.tryPush(msg(i, 8));
    expect(kept).toEqual(Array.from({ length: 25 }, (_, i) => msg(i, 8)));
    q.close();
    m.close();
  });

  test('closing the handle ends a waiting loop; abort throws; a closed mapping throws ERR_SHM_CLOSED', async () => {
    const { m, q } = mpmc(8);
    const loop = (async () => {
      let n = 0;
      for await (const batch of q) n += batch.length;
      return n;
    })();
    q.tryPush(msg(1, 8));
    await new Promise((r) => setTimeout(r, 20));
    q.close();
    await expect(loop).resolves.toBe(1);

    const q2 = MpmcQueue.open(m.buffer);
    const ac = new AbortController();
    const aborted = (async () => {
      for await (const batch of q2.batches({ signal: ac.signal })) void batch;
    })();
    setTimeout(() => ac.abort(), 10);
    await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });

    const waiting = (async () => {
      for await (const batch of q2) void batch;
    })();
    await new Promise((r) => setTimeout(r, 10));
    m.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
  });
});
