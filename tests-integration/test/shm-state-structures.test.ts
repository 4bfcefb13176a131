// Multi-process tests of the region directory, HashMap and Semaphore (built dist).

import { Semaphore, ShmState } from '@shmkit/shm-state';

import { killGroup } from './helpers/proc';
import { BASE, role, useStateFile } from './shm-state-helpers';

const newFile = useStateFile();

describe('region directory across processes', () => {
  it('4 processes racing to create the same names on a fresh file get one region each, shared', async () => {
    const { file, shared } = newFile(BASE + (1 << 20));
    const procs = [0, 1, 2, 3].map(() => role(file, 'state-race', '10000'));
    const st = await Promise.all(procs.map((p) => p.exited));
    expect(st.map((s) => s.status)).toEqual([0, 0, 0, 0]);
    using m = shared.map();
    const state = ShmState.open(m.buffer.subarray(BASE));
    expect(state.regions().map((r) => r.name).sort()).toEqual(['count', 'lock', 'pids']);
    expect(state.counter64('count').value).toBe(40_000);
    expect([...state.hashMap('pids', { capacity: 64, keySize: 16, valueSize: 8 }).entries()].length).toBe(4);
    state.close();
    shared.close();
  }, 60_000);
});

describe('HashMap: one writer, many readers', () => {
  it('readers never see a torn value; a SIGKILLed writer is repaired and a new writer continues', async () => {
    const { file, shared } = newFile(BASE + (1 << 20));
    const writer = role(file, 'map-writer', '0');
    await writer.waitFor('writing');
    const readers = [0, 1, 2].map(() => role(file, 'map-reader', '20000'));
    await Promise.all(readers.map((r) => r.waitFor('ready')));
    killGroup(writer.child, 'SIGKILL');
    await writer.exited;
    const second = role(file, 'map-writer', '1000000');
    await second.waitFor('writing');
    const st = await Promise.all(readers.map((r) => r.exited));
    expect(st.map((s) => s.status)).toEqual([0, 0, 0]);
    for (const r of readers) {
      const res = JSON.parse(/result (\{.*\})/.exec(r.stdout())?.[1] ?? '{}') as { torn: number; seen: number };
      expect(res.torn).toBe(0);
      expect(res.seen).toBeGreaterThan(0);
    }
    killGroup(second.child, 'SIGKILL');
    await second.exited;
    using m = shared.map();
    const h = ShmState.open(m.buffer.subarray(BASE)).hashMap('m', { capacity: 64, keySize: 8, valueSize: 32 });
    // Every key is either intact or was the one being written when a writer died.
    let intact = 0;
    for (const [, v] of h.entries()) {
      const first = v.readUInt32LE(0);
      for (let w = 1; w < 8; w++) expect(v.readUInt32LE(w * 4)).toBe(first);
      intact++;
    }
    expect(intact).toBeGreaterThanOrEqual(14);
    shared.close();
  }, 90_000);
});

describe('Semaphore across processes', () => {
  it('never more holders than permits; a SIGKILLed holder’s permit is recovered', async () => {
    const { file, shared } = newFile(BASE + 4096);
    {
      using m = shared.map();
      Semaphore.create(m.buffer, { offset: BASE, permits: 2 });
    }
    const holder = role(file, 'sem-hold');
    await holder.waitFor('holding');
    killGroup(holder.child, 'SIGKILL');
    await holder.exited;
    const workers = [0, 1, 2, 3].map(() => role(file, 'sem-worker', '20000'));
    await Promise.all(workers.map((w) => w.waitFor('ready')));
    using m = shared.map();
    const ctl = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 8);
    Atomics.store(ctl, 5, 1); // start all workers at once
    const st = await Promise.all(workers.map((w) => w.exited));
    expect(st.map((s) => s.status)).toEqual([0, 0, 0, 0]);
    const dead = workers.map((w) => (JSON.parse(/done (\{.*\})/.exec(w.stdout())?.[1] ?? '{}') as { ownerDead: number }).ownerDead);
    expect(Atomics.load(ctl, 3)).toBeGreaterThanOrEqual(1);
    expect(Atomics.load(ctl, 3)).toBeLessThanOrEqual(2);
    // Whether or not a worker happened to need the dead holder's permit,
    // taking both permits must recover it: one takeover in all. (Holders
    // that overlap the takeover may also be told ownerDead until it is
    // marked consistent, as with EOWNERDEAD.)
    const sem = Semaphore.open(m.buffer, { offset: BASE });
    const both = sem.acquireManySync(2, { timeoutMs: 10000 });
    expect(both).toHaveLength(2);
    const recoveredHere = (both ?? []).filter((g) => g.ownerDead).length;
    expect(dead.reduce((a, b) => a + b, 0) + recoveredHere).toBeGreaterThanOrEqual(1);
    for (const g of both ?? []) g.unlock();
    expect(sem.recoveries).toBe(1);
    shared.close();
  }, 90_000);
});
