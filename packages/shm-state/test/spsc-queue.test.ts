import { createHash, randomBytes } from 'node:crypto';

import * as sys from '@shmkit/shm-fd/sys';

import { ShmStateError, SpscQueue } from '../src';

function mapped(bytes: number) {
  const m = sys.mapAnonymous(bytes);
  return m;
}

describe('SpscQueue', () => {
  test('round-trips variable-length messages in order, including empty and wrapping ones', () => {
    const m = mapped(SpscQueue.byteLengthFor(1024));
    const q = SpscQueue.create(m.buffer, { capacity: 1024 });
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const msg = randomBytes(rnd() % 300);
      while (!q.tryPush(msg)) got.push(q.tryPop()!);
      sent.push(msg);
      if (rnd() % 3 === 0) {
        const p = q.tryPop();
        if (p !== null) got.push(p);
      }
    }
    for (let p = q.tryPop(); p !== null; p = q.tryPop()) got.push(p);
    expect(got.length).toBe(sent.length);
    const hash = (xs: Buffer[]) => createHash('sha256').update(Buffer.concat(xs.map((x) => Buffer.concat([Buffer.from(String(x.length)), x])))).digest('hex');
    expect(hash(got)).toBe(hash(sent));
    expect(q.isEmpty).toBe(true);
    m.close();
  });

  test('waitNotEmpty() resolves without taking the message, so popSync() may run while it is pending', async () => {
    const m = mapped(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    expect(await q.waitNotEmpty({ timeoutMs: 20 })).toBe(false);
    const pending = q.waitNotEmpty({ timeoutMs: 5000 });
    q.tryPush(Buffer.from('one'));
    // The pending wait holds nothing: a blocking pop in this same tick gets the message.
    expect(q.popSync({ timeoutMs: 1000 })?.toString()).toBe('one');
    q.tryPush(Buffer.from('two'));
    expect(await pending).toBe(true);
    expect(q.tryPop()?.toString()).toBe('two');
    q.close();
    m.close();
  });

  test('largest message is capacity - 4 bytes; larger is a coded error', () => {
    const m = mapped(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    expect(q.maxMessage).toBe(252);
    expect(() => q.tryPush(Buffer.alloc(253))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
    // Offset the ring so the big message wraps around the end.
    expect(q.tryPush(Buffer.alloc(10, 1))).toBe(true);
    expect(q.tryPop()).toEqual(Buffer.alloc(10, 1));
    const big = randomBytes(252);
    expect(q.tryPush(big)).toBe(true);
    expect(q.tryPush(Buffer.alloc(0))).toBe(false);
    expect(q.tryPop()).toEqual(big);
    m.close();
  });

  test('tryPopInto copies into a caller buffer and refuses one that is too small', () => {
    const m = mapped(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    q.tryPush(Buffer.from('hello world'));
    expect(q.peekLength()).toBe(11);
    expect(() => q.tryPopInto(Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BUFFER_TOO_SMALL' }));
    const out = Buffer.alloc(32);
    expect(q.tryPopInto(out)).toBe(11);
    expect(out.subarray(0, 11).toString()).toBe('hello world');
    expect(q.tryPopInto(out)).toBe(-1);
    m.close();
  });

  test('lives at an offset inside a larger buffer and reopens with its contents', () => {
    const m = mapped(8192);
    const q = SpscQueue.create(m.buffer, { offset: 4096, capacity: 2048 });
    q.tryPush(Buffer.from('persisted'));
    const again = SpscQueue.open(m.buffer, { offset: 4096 });
    expect(again.capacity).toBe(2048);
    expect(again.tryPop()?.toString()).toBe('persisted');
    expect(m.buffer.readUInt32LE(0)).toBe(0);
    m.close();
  });

  test('open reports a missing or corrupted header instead of trusting it', () => {
    const m = mapped(SpscQueue.byteLengthFor(256));
    expect(() => SpscQueue.open(m.buffer)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER' }));
    SpscQueue.create(m.buffer, { capacity: 256 });
    m.buffer.writeUInt32LE(12345, 8); // capacity
    expect(() => SpscQueue.open(m.buffer)).toThrow(/impossible capacity 12345/);
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    q.tryPush(Buffer.from('abc'));
    m.buffer.writeInt32LE(100000, 704); // the record's length word
    const err = (() => {
      try {
        q.tryPop();
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ShmStateError);
    expect(err).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    m.close();
  });

  test('rejects bad geometry and misaligned offsets with codes', () => {
    const m = mapped(4096);
    expect(() => SpscQueue.create(m.buffer, { capacity: 100 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => SpscQueue.create(m.buffer, { offset: 3 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_ALIGNMENT' }));
    expect(() => SpscQueue.create(m.buffer, { capacity: 4096 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_TOO_SMALL' }));
    m.close();
  });

  test('popSync times out on an empty queue; pushSync times out on a full one', () => {
    const m = mapped(SpscQueue.byteLengthFor(64));
    const q = SpscQueue.create(m.buffer, { capacity: 64 });
    const t0 = performance.now();
    expect(q.popSync({ timeoutMs: 30 })).toBeNull();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(q.tryPush(Buffer.alloc(60))).toBe(true);
    expect(q.pushSync(Buffer.alloc(1), { timeoutMs: 10 })).toBe(false);
    m.close();
  });

  test('async pop is woken by a push through the doorbell, without blocking the loop', async () => {
    const m = mapped(SpscQueue.byteLengthFor(1024));
    const q = SpscQueue.create(m.buffer, { capacity: 1024 });
    const popped = q.pop();
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    await new Promise((r) => setTimeout(r, 20));
    q.tryPush(Buffer.from('ding'));
    expect((await popped)?.toString()).toBe('ding');
    clearInterval(iv);
    expect(ticks).toBeGreaterThan(0);
    expect(await q.pop({ timeoutMs: 10 })).toBeNull();
    m.close();
  });

  test('async push waits for room', async () => {
    const m = mapped(SpscQueue.byteLengthFor(64));
    const q = SpscQueue.create(m.buffer, { capacity: 64 });
    q.tryPush(Buffer.alloc(60));
    const pushed = q.push(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 5));
    expect(q.tryPop()?.length).toBe(60);
    expect(await pushed).toBe(true);
    expect(q.tryPop()?.toString()).toBe('x');
    m.close();
  });

  test('abort and close settle pending waits', async () => {
    const m = mapped(SpscQueue.byteLengthFor(64));
    const q = SpscQueue.create(m.buffer, { capacity: 64 });
    const ac = new AbortController();
    const p = q.pop({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' });
    const p2 = q.pop();
    q.close();
    await expect(p2).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(() => q.tryPop()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    m.close();
  });

  test('try forms work on plain memory; blocking forms say why they cannot', () => {
    const buf = Buffer.alloc(SpscQueue.byteLengthFor(64));
    const q = SpscQueue.create(buf, { capacity: 64 });
    expect(q.tryPush(Buffer.from('a'))).toBe(true);
    expect(q.tryPop()?.toString()).toBe('a');
    expect(() => q.popSync({ timeoutMs: 1, spinUs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_NO_FUTEX' }));
  });
});

describe('SpscQueue.drain', () => {
  test('consumes batches in order with views, including wrapped records, and stops at max', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    const got: string[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      while (q.tryPush(Buffer.from(`message-${next}`.repeat(1 + (next % 4))))) next++;
      q.drain((v) => got.push(v.toString()), 3);
      q.drain((v) => got.push(v.toString()));
    }
    expect(got.length).toBe(next);
    got.forEach((g, i) => expect(g).toBe(`message-${i}`.repeat(1 + (i % 4))));
    m.close();
  });

  test('a throwing callback leaves that message queued', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    q.tryPush(Buffer.from('a'));
    q.tryPush(Buffer.from('b'));
    expect(() =>
      q.drain((v) => {
        if (v.toString() === 'b') throw new Error('stop');
      }),
    ).toThrow('stop');
    expect(q.tryPop()?.toString()).toBe('b');
    m.close();
  });
});

describe('SpscQueue.tryPushMany and drainRecords', () => {
  test('runs of random sizes go through in order, with partial runs when the ring fills and records that wrap', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(512));
    const q = SpscQueue.create(m.buffer, { capacity: 512 });
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    let partial = 0;
    let wrapped = 0;
    const take = (data: Buffer, offset: number, length: number) => {
      if (offset === 0 && data.length === length && length > 0) wrapped++;
      got.push(Buffer.from(data.subarray(offset, offset + length)));
    };
    for (let round = 0; round < 400; round++) {
      const run = Array.from({ length: 1 + (rnd() % 12) }, () => randomBytes(rnd() % 90));
      let done = 0;
      while (done < run.length) {
        const pushed = q.tryPushMany(run, done);
        if (pushed < run.length - done) partial++;
        done += pushed;
        if (done < run.length) q.drainRecords(take, 1 + (rnd() % 4));
      }
      sent.push(...run);
      if (rnd() % 2 === 0) q.drainRecords(take);
    }
    q.drainRecords(take);
    expect(got).toEqual(sent);
    // The run above exercised what it claims to.
    expect(partial).toBeGreaterThan(10);
    expect(wrapped).toBeGreaterThan(0);
    m.close();
  });

  test('start and end select part of the array; an empty selection or a full ring pushes nothing', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(64));
    const q = SpscQueue.create(m.buffer, { capacity: 64 });
    const msgs = ['a', 'bb', 'ccc', 'dddd'].map((s) => Buffer.from(s));
    expect(q.tryPushMany(msgs, 1, 3)).toBe(2);
    expect(q.tryPushMany(msgs, 2, 2)).toBe(0);
    const got: string[] = [];
    expect(q.drainRecords((d, o, l) => got.push(d.toString('latin1', o, o + l)))).toBe(2);
    expect(got).toEqual(['bb', 'ccc']);
    // 60 bytes of payload fill the 64-byte ring: nothing more fits.
    expect(q.tryPushMany([Buffer.alloc(60)])).toBe(1);
    expect(q.tryPushMany(msgs)).toBe(0);
    m.close();
  });

  test('a message over maxMessage throws ERR_SHM_STATE_MESSAGE_TOO_LARGE after publishing the ones before it', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    expect(() => q.tryPushMany([Buffer.from('kept'), Buffer.alloc(300), Buffer.from('never')])).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
    expect(q.tryPop()?.toString()).toBe('kept');
    expect(q.tryPop()).toBeNull();
    m.close();
  });

  test('drainRecords stops at max, and a throwing callback leaves that message queued', () => {
    const m = sys.mapAnonymous(SpscQueue.byteLengthFor(256));
    const q = SpscQueue.create(m.buffer, { capacity: 256 });
    q.tryPushMany(['a', 'b', 'c'].map((s) => Buffer.from(s)));
    const seen: string[] = [];
    expect(q.drainRecords((d, o, l) => seen.push(d.toString('latin1', o, o + l)), 1)).toBe(1);
    expect(() =>
      q.drainRecords((d, o) => {
        if (d[o] === 0x63) throw new Error('stop');
        seen.push('b');
      }),
    ).toThrow('stop');
    expect(seen).toEqual(['a', 'b']);
    expect(q.tryPop()?.toString()).toBe('c');
    m.close();
  });
});
