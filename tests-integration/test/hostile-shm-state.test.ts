// @shmkit/shm-state against a hostile process that maps the same shared file
// and writes the words of its structures (built dist, real processes).
import fs from 'node:fs';
import path from 'node:path';

import { HashMap, MpmcQueue, Mutex, Notifier, RegionDirectory, Ring, Semaphore, Seq, ShmState, SpscQueue, Struct, t } from '@shmkit/shm-state';

import { start, type Proc } from './helpers/proc';
import { BASE, useStateFile } from './shm-state-helpers';

const PEER = path.join(__dirname, 'fixtures', 'hostile-shm-state', 'peer.js');
const newFile = useStateFile();

function peer(file: string, role: string, ...args: Array<string | number>): Proc {
  return start([PEER, role, file, ...args.map(String)], { cwd: path.dirname(PEER) });
}

async function poke(file: string, at: number, value: number): Promise<void> {
  const p = peer(file, 'poke', at, value);
  await p.waitFor('poked');
  expect((await p.exited).status).toBe(0);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('a hostile process writing one word', () => {
  it('SpscQueue tail moved a million bytes ahead: tryPop fails with ERR_SHM_STATE_CORRUPT, no phantom messages', async () => {
    const { file, shared } = newFile(BASE + SpscQueue.byteLengthFor(4096));
    using m = shared.map();
    const q = SpscQueue.create(m.buffer, { offset: BASE, capacity: 4096 });
    q.tryPush(Buffer.from('real'));
    await poke(file, BASE + 64, 4_000_000);
    expect(caught(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: 'tail/head' });
    shared.close();
  });

  it('MpmcQueue enqueue position moved ahead: tryPop returns with ERR_SHM_STATE_CORRUPT instead of spinning forever', async () => {
    const { file, shared } = newFile(BASE + MpmcQueue.byteLengthFor(16, 16));
    using m = shared.map();
    const q = MpmcQueue.create(m.buffer, { offset: BASE, capacity: 16, slotSize: 16 });
    await poke(file, BASE + 64, 5);
    expect(caught(() => q.tryPop())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', word: 'the enqueue position' });
    shared.close();
  });

  it('MpmcQueue slot owner set to a live pid: tryPush answers false instead of waiting for it', async () => {
    const { file, shared } = newFile(BASE + MpmcQueue.byteLengthFor(16, 16));
    using m = shared.map();
    const q = MpmcQueue.create(m.buffer, { offset: BASE, capacity: 16, slotSize: 16 });
    await poke(file, BASE + 704 + 4, process.pid);
    expect(q.tryPush(Buffer.from('x'))).toBe(false);
    expect(q.pushSync(Buffer.from('x'), { timeoutMs: 100 })).toBe(false);
    shared.close();
  });

  it('HashMap slot version left odd with the writer lock free: get() fails with ERR_SHM_STATE_CORRUPT', async () => {
    const opts = { capacity: 16, keySize: 8, valueSize: 8 };
    const { file, shared } = newFile(BASE + HashMap.byteLengthFor(opts));
    using m = shared.map();
    const h = HashMap.create(m.buffer, { offset: BASE, ...opts });
    h.set('k', 'v');
    const slot = [...Array(16).keys()].find((i) => m.buffer.readInt32LE(BASE + 384 + i * 40 + 4) === 1) as number;
    await poke(file, BASE + 384 + slot * 40, 7);
    expect(caught(() => h.get('k'))).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'HashMap' });
    shared.close();
  });
});

describe('many short-lived peers waking through the doorbell', () => {
  it('the waker keeps one pipe fd per live peer, not one per peer it ever woke', async () => {
    const { file, shared } = newFile(BASE + MpmcQueue.byteLengthFor(64, 16));
    using m = shared.map();
    const q = MpmcQueue.create(m.buffer, { offset: BASE, capacity: 64, slotSize: 16 });
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    // The first wake opens things that stay (this process's own bell and alarm thread).
    const warm = peer(file, 'waiter', BASE);
    await warm.waitFor('waiting');
    q.tryPush(Buffer.from('warm'));
    await warm.exited;
    const before = fds();
    for (let i = 0; i < 30; i++) {
      const w = peer(file, 'waiter', BASE);
      await w.waitFor('waiting');
      expect(q.tryPush(Buffer.from(`m${i}`))).toBe(true);
      await w.waitFor(`got m${i}`);
      expect((await w.exited).status).toBe(0);
    }
    // Each wake cached a writer to a peer that then exited; at most the last one is left.
    expect(fds() - before).toBeLessThanOrEqual(1);
    shared.close();
  }, 120_000);
});

/** The layout the struct roles of peer.js use. */
const LAYOUT = t.struct({ hits: t.u64, rate: t.f64, name: t.bytes(16), hist: t.array(t.u32, 8), pairs: t.array(t.struct({ a: t.u8, b: t.i32 }), 4) });

const FUZZ_MS = Number(process.env['SHMKIT_FUZZ_MS'] ?? 3000);
const SEED = Number(process.env['SHMKIT_FUZZ_SEED'] ?? Math.floor(Math.random() * 0x7fffffff));

describe(`shared-memory fuzzer (SHMKIT_FUZZ_SEED=${SEED}, ${FUZZ_MS} ms per structure)`, () => {
  // `from`/`to` bound the words the hostile process writes (default: the structure at BASE).
  const structures: Array<{ name: string; bytes: number; from?: number; to?: number; create: (mem: Buffer) => void; honest: (file: string) => Proc[] }> = [
    {
      name: 'SpscQueue',
      bytes: SpscQueue.byteLengthFor(4096),
      create: (mem) => void SpscQueue.create(mem, { offset: BASE, capacity: 4096 }),
      honest: (file) => [peer(file, 'producer', 'spsc', BASE, FUZZ_MS), peer(file, 'consumer', 'spsc', BASE, FUZZ_MS, 'async')],
    },
    {
      name: 'MpmcQueue',
      bytes: MpmcQueue.byteLengthFor(32, 16),
      create: (mem) => void MpmcQueue.create(mem, { offset: BASE, capacity: 32, slotSize: 16 }),
      honest: (file) => [
        peer(file, 'producer', 'mpmc', BASE, FUZZ_MS),
        peer(file, 'producer', 'mpmc', BASE, FUZZ_MS),
        peer(file, 'consumer', 'mpmc', BASE, FUZZ_MS, 'sync'),
        peer(file, 'consumer', 'mpmc', BASE, FUZZ_MS, 'async'),
      ],
    },
    {
      name: 'HashMap',
      bytes: HashMap.byteLengthFor({ capacity: 64, keySize: 8, valueSize: 8 }),
      create: (mem) => void HashMap.create(mem, { offset: BASE, capacity: 64, keySize: 8, valueSize: 8 }),
      honest: (file) => [peer(file, 'map-user', BASE, FUZZ_MS), peer(file, 'map-user', BASE, FUZZ_MS)],
    },
    {
      name: 'Mutex',
      bytes: Mutex.byteLength,
      create: (mem) => void Mutex.create(mem, { offset: BASE }),
      honest: (file) => [peer(file, 'mutex-user', BASE, FUZZ_MS, 'sync'), peer(file, 'mutex-user', BASE, FUZZ_MS, 'async'), peer(file, 'mutex-user', BASE, FUZZ_MS, 'sync')],
    },
    {
      name: 'Semaphore',
      bytes: Semaphore.byteLengthFor(4),
      create: (mem) => void Semaphore.create(mem, { offset: BASE, permits: 4 }),
      honest: (file) => [peer(file, 'semaphore-user', BASE, FUZZ_MS, 'sync'), peer(file, 'semaphore-user', BASE, FUZZ_MS, 'async'), peer(file, 'semaphore-user', BASE, FUZZ_MS, 'sync')],
    },
    {
      name: 'Ring',
      bytes: Ring.byteLengthFor(16),
      create: (mem) => void Ring.create(mem, { offset: BASE, count: 16 }),
      honest: (file) => [peer(file, 'ring-user', BASE, FUZZ_MS), peer(file, 'ring-user', BASE, FUZZ_MS)],
    },
    {
      name: 'Seq',
      bytes: Seq.byteLengthFor(256),
      create: (mem) => void Seq.create(mem, { offset: BASE, buffer: 256 }),
      honest: (file) => [peer(file, 'seq-user', BASE, 256, FUZZ_MS), peer(file, 'seq-user', BASE, 256, FUZZ_MS)],
    },
    {
      name: 'Struct',
      bytes: Struct.byteLengthFor(LAYOUT),
      create: (mem) => void Struct.create(mem, { offset: BASE, layout: LAYOUT }),
      honest: (file) => [peer(file, 'struct-user', BASE, FUZZ_MS), peer(file, 'struct-user', BASE, FUZZ_MS)],
    },
    {
      name: 'region directory (ShmState)',
      bytes: 1 << 20,
      from: 0,
      to: RegionDirectory.overheadFor(),
      create: (mem) => {
        const state = ShmState.open(mem);
        state.counter64('c0').increment();
        state.mutex('m0');
      },
      honest: (file) => [peer(file, 'directory-user', FUZZ_MS), peer(file, 'directory-user', FUZZ_MS)],
    },
    {
      // The word after the notifier is the condition the waiters watch; only the notifier's own words are written.
      name: 'Notifier',
      bytes: Notifier.byteLength + 64,
      to: BASE + Notifier.byteLength,
      create: (mem) => Notifier.init(mem, BASE),
      honest: (file) => [
        peer(file, 'notifier-waker', BASE, FUZZ_MS),
        peer(file, 'notifier-waiter', BASE, FUZZ_MS, 'sync'),
        peer(file, 'notifier-waiter', BASE, FUZZ_MS, 'async'),
      ],
    },
  ];

  for (const s of structures) {
    it(`${s.name}: honest processes get answers or coded errors, never a crash or a hang; all exit (seed ${SEED})`, async () => {
      const { file, shared } = newFile(BASE + s.bytes);
      {
        using m = shared.map();
        s.create(m.buffer);
      }
      const honest = s.honest(file);
      await Promise.all(honest.map((p) => p.waitFor('ready')));
      const hostile = peer(file, 'fuzz', SEED, FUZZ_MS, s.from ?? BASE, s.to ?? BASE + s.bytes);
      const all = [...honest, hostile];
      // Each process stops by itself after FUZZ_MS; the bound below is the hang guard.
      const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`a process did not exit within ${FUZZ_MS + 20_000} ms (seed ${SEED})`)), FUZZ_MS + 20_000).unref());
      const statuses = await Promise.race([Promise.all(all.map((p) => p.exited)), guard]);
      const report = all.map((p) => `${p.stdout()}${p.stderr()}`).join('\n---\n');
      expect({ seed: SEED, statuses: statuses.map((x) => x.status), report }).toEqual({ seed: SEED, statuses: all.map(() => 0), report: expect.stringMatching(/result/) });
      for (const p of honest) expect(p.stdout()).toMatch(/^ready\nresult \{.*\}\n$/);
      shared.close();
    }, FUZZ_MS + 60_000);
  }
});
