import * as sys from '@shmkit/shm-fd/sys';

import { SpscQueue } from '../src';

/** A producer and a consumer handle on one queue, as two processes would hold them. */
function pair(capacity: number) {
  const m = sys.mapAnonymous(SpscQueue.byteLengthFor(capacity));
  const producer = SpscQueue.create(m.buffer, { capacity });
  const consumer = SpscQueue.open(m.buffer);
  const popAll = (): string[] => {
    const got: string[] = [];
    // A drain takes what the tail showed when it started: drain until one finds nothing.
    while (consumer.drainRecords((d, o, l) => got.push(d.toString('latin1', o, o + l))) > 0);
    return got;
  };
  return { m, producer, consumer, popAll };
}

const msg = (s: string) => Buffer.from(s, 'latin1');

describe('SpscQueue.cork', () => {
  test('corked messages stay invisible to the consumer until uncork(), then arrive in order', () => {
    const { m, producer, consumer, popAll } = pair(1024);
    producer.cork();
    expect(producer.corked).toBe(1);
    for (const s of ['a', 'bb', 'ccc']) expect(producer.tryPush(msg(s))).toBe(true);
    expect(consumer.peekLength()).toBe(-1);
    expect(producer.bytesUsed).toBe(0);
    producer.uncork();
    expect(producer.corked).toBe(0);
    expect(popAll()).toEqual(['a', 'bb', 'ccc']);
    // Uncorked again: every push is visible at once.
    producer.tryPush(msg('d'));
    expect(popAll()).toEqual(['d']);
    m.close();
  });

  test('a corked producer publishes once a quarter of the ring is pending, and keeps the rest', () => {
    // 1024-byte ring: published at 256 pending bytes, i.e. every 4th 64-byte record (68 bytes each).
    const { m, producer, popAll } = pair(1024);
    const body = (i: number) => String(i).padStart(64, '.');
    producer.cork();
    for (let i = 0; i < 3; i++) producer.tryPush(msg(body(i)));
    expect(popAll()).toEqual([]);
    producer.tryPush(msg(body(3)));
    expect(popAll()).toEqual([0, 1, 2, 3].map(body));
    producer.tryPush(msg(body(4)));
    expect(popAll()).toEqual([]);
    producer.uncork();
    expect(popAll()).toEqual([body(4)]);
    m.close();
  });

  test('when the ring has no room for the next message, what is pending is published, so the consumer can make room', () => {
    const { m, producer, consumer } = pair(4096);
    producer.cork();
    let pushed = 0;
    while (producer.tryPush(msg(`m${pushed}`))) pushed++;
    expect(pushed).toBeGreaterThan(300);
    // Still corked, yet every accepted message is readable now.
    let got = 0;
    consumer.drainRecords((d, o, l) => {
      expect(d.toString('latin1', o, o + l)).toBe(`m${got}`);
      got++;
    });
    expect(got).toBe(pushed);
    expect(producer.tryPush(msg('next'))).toBe(true);
    expect(producer.corked).toBe(1);
    m.close();
  });

  test('pushSync on a full corked queue publishes before it waits: a timeout leaves every accepted message readable', () => {
    const { m, producer, consumer, popAll } = pair(64);
    producer.cork();
    // 64-byte ring: two 24-byte messages (28-byte records) fit, a third does not.
    expect(producer.pushSync(msg('x'.repeat(24)))).toBe(true);
    expect(producer.pushSync(msg('y'.repeat(24)))).toBe(true);
    expect(producer.pushSync(msg('z'.repeat(24)), { timeoutMs: 20 })).toBe(false);
    expect(consumer.tryPop()?.toString()).toBe('x'.repeat(24));
    expect(producer.pushSync(msg('z'.repeat(24)), { timeoutMs: 20 })).toBe(true);
    producer.uncork();
    expect(popAll()).toEqual(['y'.repeat(24), 'z'.repeat(24)]);
    m.close();
  });

  test('await push on a full corked queue resolves once the consumer makes room', async () => {
    const { m, producer, consumer, popAll } = pair(64);
    producer.cork();
    producer.tryPush(msg('x'.repeat(24)));
    producer.tryPush(msg('y'.repeat(24)));
    const pending = producer.push(msg('z'.repeat(24)), { timeoutMs: 5000 });
    setTimeout(() => consumer.tryPop(), 10);
    expect(await pending).toBe(true);
    producer.uncork();
    expect(popAll()).toEqual(['y'.repeat(24), 'z'.repeat(24)]);
    m.close();
  });

  test('cork() nests: only the last uncork() publishes; an extra uncork() does nothing', () => {
    const { m, producer, popAll } = pair(1024);
    producer.uncork();
    expect(producer.corked).toBe(0);
    producer.cork();
    producer.cork();
    producer.tryPush(msg('a'));
    producer.uncork();
    expect(producer.corked).toBe(1);
    expect(popAll()).toEqual([]);
    producer.uncork();
    expect(popAll()).toEqual(['a']);
    m.close();
  });

  test('tryPushMany under cork() appends after the pending messages and publishes with them', () => {
    const { m, producer, popAll } = pair(1024);
    producer.cork();
    producer.tryPush(msg('a'));
    expect(producer.tryPushMany([msg('b'), msg('c')])).toBe(2);
    producer.tryPush(msg('d'));
    expect(popAll()).toEqual([]);
    producer.uncork();
    expect(popAll()).toEqual(['a', 'b', 'c', 'd']);
    m.close();
  });

  test('tryPushMany under cork() that fills the ring publishes everything it wrote', () => {
    const { m, producer, consumer } = pair(256);
    producer.cork();
    producer.tryPush(msg('first'));
    const run = Array.from({ length: 100 }, (_, i) => msg(`r${i}`));
    const n = producer.tryPushMany(run);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(100);
    let got = 0;
    consumer.drainRecords(() => void got++);
    expect(got).toBe(n + 1);
    m.close();
  });

  test('close() publishes what a corked producer left pending', () => {
    const { m, producer, popAll } = pair(1024);
    producer.cork();
    producer.tryPush(msg('kept'));
    producer.close();
    expect(popAll()).toEqual(['kept']);
    m.close();
  });

  test('a message over maxMessage under cork() throws and leaves the pending ones pending', () => {
    const { m, producer, popAll } = pair(256);
    producer.cork();
    producer.tryPush(msg('a'));
    expect(() => producer.tryPush(Buffer.alloc(300))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
    expect(popAll()).toEqual([]);
    producer.uncork();
    expect(popAll()).toEqual(['a']);
    m.close();
  });

  test('cork() and uncork() on a closed handle throw ERR_SHM_CLOSED', () => {
    const { m, producer } = pair(256);
    producer.close();
    expect(() => producer.cork()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    expect(() => producer.uncork()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    m.close();
  });
});
