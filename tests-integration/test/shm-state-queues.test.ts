// Multi-process tests of @shmkit/shm-state queues (built dist): real
// processes sharing one tmpfs file, real SIGKILLs.

import { MpmcQueue, SpscQueue } from '@shmkit/shm-state';

import { killGroup, type Proc } from './helpers/proc';
import { BASE, role, useStateFile } from './shm-state-helpers';

const newFile = useStateFile();

function resultOf(p: Proc): Record<string, unknown> {
  const m = /result (\{.*\})/.exec(p.stdout());
  if (m === null) throw new Error(`no result line\n--- stdout ---\n${p.stdout()}\n--- stderr ---\n${p.stderr()}`);
  return JSON.parse(m[1] as string) as Record<string, unknown>;
}

describe('MpmcQueue across processes', () => {
  const PER = 500_000;

  it('2 producers × 3 consumers (blocking, await pop, for await batches), 1,000,000 messages: none lost, none duplicated, per-producer order kept', async () => {
    const qBytes = MpmcQueue.byteLengthFor(1024, 16);
    const { file, shared } = newFile(BASE + qBytes + 2 * PER);
    using m = shared.map();
    MpmcQueue.create(m.buffer, { offset: BASE, capacity: 1024, slotSize: 16 });
    const consumers = ['sync', 'async', 'batch'].map((mode) => role(file, 'mpmc-consume', String(PER), '2', mode));
    await Promise.all(consumers.map((c) => c.waitFor('ready')));
    const producers = [role(file, 'mpmc-produce', '0', String(PER)), role(file, 'mpmc-produce', '1', String(PER))];
    const statuses = await Promise.all([...producers, ...consumers].map((p) => p.exited));
    expect(statuses.map((s) => s.status)).toEqual([0, 0, 0, 0, 0]);
    const results = consumers.map(resultOf);
    expect(results.map((r) => r['dups'])).toEqual([0, 0, 0]);
    expect(results.map((r) => r['disorder'])).toEqual([0, 0, 0]);
    expect(results.reduce((a, r) => a + (r['got'] as number), 0)).toBe(2 * PER);
    // Every message seen exactly once, by the shared byte map.
    const seen = m.buffer.subarray(BASE + qBytes, BASE + qBytes + 2 * PER);
    expect(seen.every((b) => b === 1)).toBe(true);
    shared.close();
  }, 240_000);

  it('a producer SIGKILLed mid-stream: the rest go on; only its in-flight push may vanish', async () => {
    const per = 100_000;
    const qBytes = MpmcQueue.byteLengthFor(64, 16);
    const { file, shared } = newFile(BASE + qBytes + 2 * per);
    using m = shared.map();
    const q = MpmcQueue.create(m.buffer, { offset: BASE, capacity: 64, slotSize: 16 });
    const consumers = [role(file, 'mpmc-consume', String(per), '2', 'sync'), role(file, 'mpmc-consume', String(per), '2', 'sync')];
    await Promise.all(consumers.map((c) => c.waitFor('ready')));
    const victim = role(file, 'mpmc-produce', '0', String(per));
    const survivor = role(file, 'mpmc-produce', '1', String(per));
    await victim.waitFor('producing');
    killGroup(victim.child, 'SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await survivor.waitFor('done 1', 60_000);
    // Stops come after everything already queued (positions are FIFO).
    expect(q.pushSync(Buffer.from('stop'), { timeoutMs: 10_000 })).toBe(true);
    expect(q.pushSync(Buffer.from('stop'), { timeoutMs: 10_000 })).toBe(true);
    const st = await Promise.all(consumers.map((c) => c.exited));
    expect(st.map((s) => s.status)).toEqual([0, 0]);
    const results = consumers.map(resultOf);
    expect(results.map((r) => r['dups'])).toEqual([0, 0]);
    expect(results.map((r) => r['disorder'])).toEqual([0, 0]);
    const seen = m.buffer.subarray(BASE + qBytes, BASE + qBytes + 2 * per);
    // The survivor's messages all arrived.
    expect(seen.subarray(per).every((b) => b === 1)).toBe(true);
    // The victim's arrived as a prefix: everything before its last push, at
    // most the in-flight one missing.
    const victimSeen = seen.subarray(0, per);
    const delivered = victimSeen.indexOf(0) === -1 ? per : victimSeen.indexOf(0);
    expect(delivered).toBeGreaterThan(1000);
    const holes = victimSeen.subarray(0, delivered + 2).filter((b) => b === 0).length;
    expect(victimSeen.subarray(delivered + 2).every((b) => b === 0)).toBe(true);
    expect(holes).toBeLessThanOrEqual(2);
    expect(q.stats().dropped).toBeLessThanOrEqual(1);
    shared.close();
  }, 120_000);

  it('a consumer SIGKILLed mid-stream: the other drains everything; at most the pop in flight is lost', async () => {
    const per = 100_000;
    const qBytes = MpmcQueue.byteLengthFor(64, 16);
    const { file, shared } = newFile(BASE + qBytes + 2 * per);
    using m = shared.map();
    const q = MpmcQueue.create(m.buffer, { offset: BASE, capacity: 64, slotSize: 16 });
    const victim = role(file, 'mpmc-consume', String(per), '2', 'sync');
    const survivor = role(file, 'mpmc-consume', String(per), '2', 'async');
    await Promise.all([victim.waitFor('ready'), survivor.waitFor('ready')]);
    const producers = [role(file, 'mpmc-produce', '0', String(per)), role(file, 'mpmc-produce', '1', String(per))];
    await victim.waitFor('consuming');
    killGroup(victim.child, 'SIGKILL');
    await Promise.all(producers.map((p) => p.waitFor(/done \d/, 60_000)));
    expect(q.pushSync(Buffer.from('stop'), { timeoutMs: 10_000 })).toBe(true);
    expect((await survivor.exited).status).toBe(0);
    const r = resultOf(survivor);
    expect(r['dups']).toBe(0);
    expect(r['disorder']).toBe(0);
    const seen = m.buffer.subarray(BASE + qBytes, BASE + qBytes + 2 * per);
    expect(seen.every((b) => b <= 1)).toBe(true);
    // Lost: the victim's pop in flight, and one it popped but had not yet marked.
    const missing = seen.filter((b) => b === 0).length;
    expect(missing).toBeLessThanOrEqual(2);
    shared.close();
  }, 120_000);
});

describe('SpscQueue across processes', () => {
  /**
   * A producer of `n` checksummed messages (random sizes, `seed`) and a
   * consumer reading them in `mode`, over one SpscQueue; checks that both
   * exited 0 and that the consumer saw every message, in order, with the
   * producer's checksum. Returns the consumer and the queue. `cork`: the
   * producer pushes under cork().
   */
  async function produceAndConsume(mode: 'async' | 'batch' | 'sync', seed: string, n: number, cork = false) {
    const { file, shared } = newFile(BASE + SpscQueue.byteLengthFor(256 * 1024));
    const m = shared.map();
    const q = SpscQueue.create(m.buffer, { offset: BASE, capacity: 256 * 1024 });
    const consumer = role(file, 'spsc-consume', String(n), mode);
    await consumer.waitFor('ready');
    const producer = role(file, 'spsc-produce', String(n), seed, '0', ...(cork ? ['cork'] : []));
    const [ps, cs] = await Promise.all([producer.exited, consumer.exited]);
    expect([ps.status, cs.status]).toEqual([0, 0]);
    const sent = /done ([0-9a-f]{64})/.exec(producer.stdout())?.[1];
    const r = resultOf(consumer);
    expect(r).toMatchObject({ first: 0, next: n, bad: 0 });
    expect(r['hash']).toBe(sent);
    return { consumer, q, close: () => (m.close(), shared.close()) };
  }

  it('random sizes 36 B…64 KiB, checksummed end to end, blocking producer and async consumer', async () => {
    const { close } = await produceAndConsume('async', '42', 3000);
    close();
  }, 120_000);

  it('a corked producer: every message in order, checksummed, to a blocking and to a batch consumer', async () => {
    for (const mode of ['sync', 'batch'] as const) {
      const { q, close } = await produceAndConsume(mode, '44', 3000, true);
      expect(q.isEmpty).toBe(true);
      close();
    }
  }, 120_000);

  it('for await over batches: every message in order, checksummed, across processes', async () => {
    const n = 3000;
    const { consumer, q, close } = await produceAndConsume('batch', '43', n);
    const batches = Number(/batches (\d+)/.exec(consumer.stdout())?.[1]);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThanOrEqual(n);
    // The last batch was released when the loop broke: nothing is left queued.
    expect(q.isEmpty).toBe(true);
    close();
  }, 120_000);

  it('a producer SIGKILLed mid-push leaves no torn message; a new producer continues the stream', async () => {
    const { file, shared } = newFile(BASE + SpscQueue.byteLengthFor(128 * 1024));
    using m = shared.map();
    const q = SpscQueue.create(m.buffer, { offset: BASE, capacity: 128 * 1024 });
    const ctl = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 16);
    const total = 6000;
    const consumer = role(file, 'spsc-consume', String(total), 'async');
    await consumer.waitFor('ready');
    const first = role(file, 'spsc-produce', '1000000', '7');
    await consumer.waitFor('at 2000', 60_000);
    killGroup(first.child, 'SIGKILL');
    await first.exited;
    // The consumer drains every complete message the victim published.
    expect(await waitQuiet(q)).toBe(true);
    const next = Atomics.load(ctl, 2);
    expect(next).toBeGreaterThanOrEqual(2000);
    const second = role(file, 'spsc-produce', String(total - next), '8', String(next));
    await consumer.waitFor('result', 60_000);
    const [ps, cs] = await Promise.all([second.exited, consumer.exited]);
    expect([ps.status, cs.status]).toEqual([0, 0]);
    expect(resultOf(consumer)).toMatchObject({ first: 0, next: total, bad: 0 });
    shared.close();
  }, 120_000);

  it('a consumer SIGKILLed mid-pop: a new consumer gets every later message in order, the one in flight again', async () => {
    const { file, shared } = newFile(BASE + SpscQueue.byteLengthFor(128 * 1024));
    using m = shared.map();
    SpscQueue.create(m.buffer, { offset: BASE, capacity: 128 * 1024 });
    const ctl = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 16);
    const n = 4000;
    const producer = role(file, 'spsc-produce', String(n), '9');
    const victim = role(file, 'spsc-consume', String(n), 'sync');
    await victim.waitFor('at 1000', 60_000);
    killGroup(victim.child, 'SIGKILL');
    await victim.exited;
    // The victim had fully handled every message before `done`; the one after
    // it was either still queued (redelivered) or popped just before the kill.
    const done = Atomics.load(ctl, 2);
    const second = role(file, 'spsc-consume', String(n), 'async', 'head');
    const [ps, cs] = await Promise.all([producer.exited, second.exited]);
    expect([ps.status, cs.status]).toEqual([0, 0]);
    const r = resultOf(second);
    expect(r['bad']).toBe(0);
    expect([done, done + 1]).toContain(r['first']);
    expect(r['next']).toBe(n);
    shared.close();
  }, 120_000);

  it('reopens after a restart with the data intact, and reports a corrupted header', async () => {
    const { file, shared } = newFile(BASE + SpscQueue.byteLengthFor(4096));
    {
      using m = shared.map();
      const q = SpscQueue.create(m.buffer, { offset: BASE, capacity: 4096 });
      q.tryPush(Buffer.from('one'));
      q.tryPush(Buffer.from('two'));
    }
    const ok = role(file, 'queue-open', 'spsc');
    expect((await ok.exited).status).toBe(0);
    expect(ok.stdout()).toContain('drained ["one","two"]');
    {
      using m = shared.map();
      m.buffer.writeUInt32LE(0xbad, BASE + 8); // capacity word
    }
    const bad = role(file, 'queue-open', 'spsc');
    expect((await bad.exited).status).toBe(3);
    expect(bad.stderr()).toMatch(/error ERR_SHM_STATE_BAD_HEADER: SpscQueue at offset 65536: impossible capacity 2989/);
    shared.close();
  });
});

/** Resolves true once the queue stays empty for 200 ms. */
async function waitQuiet(q: SpscQueue): Promise<boolean> {
  const end = Date.now() + 30_000;
  let emptySince = 0;
  while (Date.now() < end) {
    if (q.isEmpty) {
      if (emptySince === 0) emptySince = Date.now();
      if (Date.now() - emptySince > 200) return true;
    } else {
      emptySince = 0;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}
