import * as sys from '@shmkit/shm-fd/sys';

import { Counter32, Counter64, HashMap, Int32Cell, Int64Cell, RegionDirectory, Ring, Seq, ShmState, Struct, t } from '../src';

function withMemory<T>(bytes: number, fn: (m: sys.Mapping) => T): T {
  const m = sys.mapAnonymous(bytes);
  try {
    return fn(m);
  } finally {
    m.close();
  }
}

describe('RegionDirectory and ShmState', () => {
  test('structures are created once by name and found again after "restart"', () => {
    withMemory(1 << 20, (m) => {
      const a = ShmState.open(m.buffer);
      a.counter64('hits').increment(5);
      a.spscQueue('jobs', { capacity: 1024 }).tryPush(Buffer.from('job1'));
      a.hashMap('routes', { capacity: 16, keySize: 32, valueSize: 8 }).set('/a', 'x');
      a.bytes('blob', 100).write('raw');
      a.close();
      const b = ShmState.open(m.buffer);
      expect(b.counter64('hits').value).toBe(5);
      expect(b.spscQueue('jobs', { capacity: 1024 }).tryPop()?.toString()).toBe('job1');
      expect(b.hashMap('routes', { capacity: 16, keySize: 32, valueSize: 8 }).get('/a')?.toString()).toBe('x');
      expect(b.bytes('blob', 100).toString('utf8', 0, 3)).toBe('raw');
      expect(b.regions().map((r) => [r.name, r.kind])).toEqual([
        ['hits', 'counter64'],
        ['jobs', 'spscQueue'],
        ['routes', 'hashMap'],
        ['blob', 'bytes'],
      ]);
      for (const r of b.regions()) expect(r.offset % 64).toBe(0);
      expect(() => b.mutex('hits')).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_KIND_MISMATCH' }));
      expect(() => b.bytes('blob', 200)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_KIND_MISMATCH' }));
      expect(() => b.counter64('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      b.close();
    });
  });

  test('a corrupted header or entry is reported, not trusted', () => {
    withMemory(1 << 16, (m) => {
      ShmState.open(m.buffer).counter32('c').increment();
      m.buffer.writeUInt32LE(99, 8); // version
      expect(() => ShmState.open(m.buffer)).toThrow(/unsupported directory version 99/);
      m.buffer.writeUInt32LE(1, 8);
      expect(ShmState.open(m.buffer).counter32('c').value).toBe(1);
      m.buffer[512 + 64] = (m.buffer[512 + 64] as number) ^ 0x20; // the first entry's name: checksum no longer matches
      expect(() => ShmState.open(m.buffer)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER', message: expect.stringMatching(/entry 0: checksum mismatch/) }));
      m.buffer.fill(0xff, 0, 8);
      expect(() => ShmState.open(m.buffer)).toThrow(/does not start with the shm-state magic/);
    });
  });

  test('a creator killed mid-allocation leaves nothing visible; the next allocator cleans up', () => {
    withMemory(1 << 16, (m) => {
      const dir = RegionDirectory.open(m.buffer);
      // Simulate: entry 0 left `creating` and the lock held by a dead pid.
      const w = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 1024);
      Atomics.store(w, 512 / 4, 1);
      Atomics.store(w, (64 + 8) / 4, 0x3ffffe);
      expect(dir.list()).toEqual([]);
      const { created } = dir.ensure('x', { kind: 'bytes', length: 10 }, () => undefined);
      expect(created).toBe(true);
      expect(dir.list().map((r) => r.name)).toEqual(['x']);
    });
  });

  test('a directory whose creator died before finishing is created again by the next opener', () => {
    withMemory(1 << 16, (m) => {
      const w = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 16);
      Atomics.store(w, 2, 1); // version written
      Atomics.store(w, 8, 0x3ffffe); // by a creator that is not alive
      const dir = RegionDirectory.open(m.buffer);
      expect(dir.list()).toEqual([]);
      expect(dir.ensure('x', { kind: 'bytes', length: 8 }, () => undefined).created).toBe(true);
    });
  });

  test('running out of space or entries is a coded error', () => {
    withMemory(8192, (m) => {
      const s = ShmState.open(m.buffer, { entries: 2 });
      expect(() => s.bytes('big', 1 << 20)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_FULL', message: expect.stringMatching(/enlarge the shared file/) }));
      s.bytes('a', 8);
      s.bytes('b', 8);
      expect(() => s.bytes('c', 8)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_FULL' }));
    });
  });
});

describe('cells and counters', () => {
  test('32- and 64-bit cells and counters', () => {
    withMemory(4096, (m) => {
      const c32 = new Counter32(m.buffer, 0);
      expect(c32.increment()).toBe(1);
      expect(c32.increment(0xffffffff)).toBe(0);
      const c64 = new Counter64(m.buffer, 8);
      expect(c64.increment(2 ** 40)).toBe(2 ** 40);
      expect(c64.reset()).toBe(2 ** 40);
      const i32 = new Int32Cell(m.buffer, 16);
      expect(i32.compareExchange(0, 7)).toBe(0);
      expect(i32.load()).toBe(7);
      const i64 = new Int64Cell(m.buffer, 24);
      i64.store(-5n);
      expect(i64.add(10n)).toBe(-5n);
      expect(i64.load()).toBe(5n);
      expect(() => new Int64Cell(m.buffer, 4)).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_ALIGNMENT' }));
    });
  });
});

describe('HashMap', () => {
  test('set, get, replace, delete, reuse of tombstones, full', () => {
    withMemory(1 << 16, (m) => {
      const h = HashMap.create(m.buffer, { capacity: 8, keySize: 8, valueSize: 16 });
      for (let i = 0; i < 7; i++) h.set(`k${i}`, `v${i}`);
      expect(() => h.set('k7', 'v7')).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_FULL' }));
      expect(h.get('k3')?.toString()).toBe('v3');
      h.set('k3', 'replaced');
      expect(h.get('k3')?.toString()).toBe('replaced');
      expect(h.size).toBe(7);
      expect(h.delete('k3')).toBe(true);
      expect(h.delete('k3')).toBe(false);
      expect(h.get('k3')).toBeUndefined();
      h.set('new', 'n');
      expect(h.get('new')?.toString()).toBe('n');
      expect([...h.entries()].map(([k]) => k.toString()).sort()).toEqual(['k0', 'k1', 'k2', 'k4', 'k5', 'k6', 'new']);
      expect(() => h.set('toolongkey', 'x')).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
      expect(HashMap.open(m.buffer).get('k0')?.toString()).toBe('v0');
    });
  });

  test('a writer killed mid-update: readers repair the slot into a tombstone', () => {
    withMemory(1 << 16, (m) => {
      const h = HashMap.create(m.buffer, { capacity: 8, keySize: 8, valueSize: 8 });
      h.set('a', '1');
      h.set('b', '2');
      // Find b's slot and leave it mid-write, with the lock held by a dead pid.
      const w = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, m.buffer.length >> 2);
      const stride = 24 + 8 + 8;
      let slot = -1;
      for (let i = 0; i < 8; i++) if (m.buffer.toString('utf8', 384 + i * stride + 24, 384 + i * stride + 25) === 'b') slot = i;
      Atomics.add(w, (384 + slot * stride) / 4, 1);
      Atomics.store(w, (64 + 8) / 4, 0x3ffffe);
      expect(h.get('b')).toBeUndefined();
      expect(h.get('a')?.toString()).toBe('1');
      expect(h.stats()).toMatchObject({ size: 1, repairs: 1 });
    });
  });
});

describe('Ring and Seq', () => {
  test('Ring: push freezes, restore finds the newest even after wrapping, copier protocol', () => {
    withMemory(4096, (m) => {
      const r = Ring.create(m.buffer, { count: 4 });
      expect(r.restore()).toBeNull();
      for (let i = 1; i <= 6; i++) r.push({ payload: i, start: 0, end: i * 10 });
      const again = Ring.open(m.buffer);
      expect(again.restore()).toEqual({ payload: 6, start: 0, end: 60 });
      const f = again.frozen().find((x) => x.descriptor.payload === 3);
      expect(f).toBeDefined();
      expect(again.stillFrozen(f!.index, f!.mark)).toBe(true);
      again.push({ payload: 7, start: 0, end: 70 }); // overwrites the oldest (payload 3)
      expect(again.stillFrozen(f!.index, f!.mark)).toBe(false);
      expect(again.invalidate(again.frozen().find((x) => x.descriptor.payload === 7)!.index)).toBe(true);
      expect(Ring.open(m.buffer).restore()?.payload).toBe(6);
    });
  });

  test('Seq: set/get/restore; a set interrupted before freezing keeps the previous value', () => {
    withMemory(4096, (m) => {
      const s = Seq.create(m.buffer, { buffer: 64 });
      expect(s.get()).toBeNull();
      for (let i = 0; i < 20; i++) s.set(Buffer.from(`value ${i}`.padEnd(i % 30, '.')));
      const expected = Buffer.from('value 19'.padEnd(19, '.'));
      expect(s.get()).toEqual(expected);
      expect(Seq.open(m.buffer, { buffer: 64 }).get()).toEqual(expected);
      expect(() => s.set(Buffer.alloc(33))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE' }));
      // Simulate a crash inside set(): the data was written but the descriptor never frozen.
      const w = new Int32Array(m.buffer.buffer, m.buffer.byteOffset, 1024);
      const reopened = Seq.open(m.buffer, { buffer: 64 });
      const next = (Ring.open(m.buffer).frozen()[0]!.index + 1) % 4;
      Atomics.store(w, (64 + next * 32) / 4, (Atomics.load(w, (64 + next * 32) / 4) | 1) + 1);
      expect(reopened.restore()).toBe(expected.length);
      expect(reopened.get()).toEqual(expected);
    });
  });
});

interface V1View {
  get hits(): bigint;
  set hits(v: bigint);
  rate: number;
  get name(): Buffer;
  set name(v: string | Uint8Array);
  hist: Uint32Array;
  inner: { a: number; b: number };
  toObject(): Record<string, unknown>;
}
interface V2View {
  hits: bigint;
  misses: number;
  name: Buffer;
}
const asV1 = (s: Struct) => s.view as unknown as V1View;
const asV2 = (s: Struct) => s.view as unknown as V2View;

describe('Struct', () => {
  const v1 = t.struct({ hits: t.u64, rate: t.f64, name: t.bytes(16), hist: t.array(t.u32, 4), inner: t.struct({ a: t.u8, b: t.i16 }) });
  const v2 = t.struct({ hits: t.u64, misses: t.u32, name: t.bytes(32), hist: t.array(t.u32, 8), inner: t.struct({ a: t.u8, b: t.i16 }) });

  test('typed accessors over shared memory, persisted across opens', () => {
    withMemory(1 << 16, (m) => {
      const s = Struct.create(m.buffer, { layout: v1, offset: 128 });
      const v = asV1(s);
      v.hits = 41n;
      v.hits += 1n;
      v.rate = 0.5;
      v.name = 'counter';
      v.hist[2] = 9;
      v.inner.b = -3;
      const again = asV1(Struct.open(m.buffer, { layout: v1, offset: 128 }));
      expect(again.hits).toBe(42n);
      expect(again.toObject()).toEqual({
        hits: 42n,
        rate: 0.5,
        name: Buffer.concat([Buffer.from('counter'), Buffer.alloc(9)]),
        hist: [0, 0, 9, 0],
        inner: { a: 0, b: -3 },
      });
      expect(() => (again.name = 'x'.repeat(17))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    });
  });

  test('a changed layout needs a new version and migrate(); migration carries data over', () => {
    withMemory(1 << 16, (m) => {
      const s = Struct.create(m.buffer, { layout: v1 });
      asV1(s).hits = 7n;
      asV1(s).name = 'svc';
      expect(() => Struct.open(m.buffer, { layout: v2 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_LAYOUT_MISMATCH' }));
      expect(() => Struct.open(m.buffer, { layout: v2, version: 2 })).toThrow(/pass migrate/);
      const migrated = Struct.open(m.buffer, {
        layout: v2,
        version: 2,
        migrate: (old) => ({ hits: old.data['hits'], name: old.data['name'], misses: 1 }),
      });
      expect(migrated.migratedFrom).toBe(1);
      const v = asV2(migrated);
      expect([v.hits, v.misses, v.name.toString('utf8', 0, 3)]).toEqual([7n, 1, 'svc']);
      // Reopening with v2 needs no migration; v1 code is now the mismatch.
      expect(Struct.open(m.buffer, { layout: v2, version: 2 }).migratedFrom).toBeNull();
      expect(() => Struct.open(m.buffer, { layout: v1 })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_LAYOUT_MISMATCH' }));
    });
  });

  test('ShmState.struct migrates and records the new layout version in the directory', () => {
    withMemory(1 << 18, (m) => {
      const a = ShmState.open(m.buffer);
      asV1(a.struct('cfg', { layout: v1 })).hits = 3n;
      const b = ShmState.open(m.buffer);
      const s = b.struct('cfg', { layout: v2, version: 2, migrate: (old) => ({ hits: (old.data['hits'] as bigint) * 10n }) });
      expect(asV2(s).hits).toBe(30n);
      expect(b.regions().find((r) => r.name === 'cfg')?.layoutVersion).toBe(2);
      expect(() => Struct.create(m.buffer, { layout: { struct: { 'bad name': 'u8' } } })).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_LAYOUT' }));
    });
  });
});
