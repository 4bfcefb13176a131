import { HashMap, Mutex, RegionDirectory, Ring, Seq, ShmState, Struct, inspectStruct, t } from '../src';
import { thrown, twoViews } from './two-views';

// HashMap slot words (see hash-map.ts): slots start at byte 384.
const SLOTS = 384;
const STRIDE = 24 + 8 + 8; // header + keySize 8 + valueSize 8
const versionOf = (i: number) => SLOTS + i * STRIDE;
const valueLenOf = (i: number) => SLOTS + i * STRIDE + 16;

function fnv1a(k: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of k) h = Math.imul(h ^ b, 0x01000193);
  return h | 0;
}

describe('HashMap with a peer writing its words', () => {
  const slotOf = (key: string) => fnv1a(Buffer.from(key)) & 15;

  test('a slot version left odd with no writer holding the lock: get() reports it instead of spinning', () => {
    const v = twoViews(HashMap.byteLengthFor({ capacity: 16, keySize: 8, valueSize: 8 }));
    const m = HashMap.create(v.ours.buffer, { capacity: 16, keySize: 8, valueSize: 8 });
    m.set('k', 'v');
    v.poke(versionOf(slotOf('k')), 3);
    expect(thrown(() => m.get('k'))).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'HashMap', word: `the version word of slot ${slotOf('k')}` });
    v.close();
  });

  test('a value length word larger than the values: coded error', () => {
    const v = twoViews(HashMap.byteLengthFor({ capacity: 16, keySize: 8, valueSize: 8 }));
    const m = HashMap.create(v.ours.buffer, { capacity: 16, keySize: 8, valueSize: 8 });
    m.set('k', 'v');
    v.poke(valueLenOf(slotOf('k')), 1 << 30);
    expect(() => m.get('k')).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    expect(() => [...m.entries()]).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_CORRUPT' }));
    v.close();
  });

  test('a live pid left in the writer lock: set() times out with ETIMEDOUT rather than hanging', () => {
    const v = twoViews(HashMap.byteLengthFor({ capacity: 16, keySize: 8, valueSize: 8 }) + Mutex.byteLength);
    const mu = Mutex.create(v.ours.buffer, { offset: 0 });
    v.poke(8, process.ppid); // the owner word: held by a live process that will never unlock
    expect(mu.lockSync({ timeoutMs: 50 })).toBeNull();
    v.close();
  });
});

describe('Mutex.openOrCreate and the region directory with a peer writing their words', () => {
  test('a live pid in a fresh mutex\'s creator word fails openOrCreate with ETIMEDOUT after a bound', () => {
    const v = twoViews(Mutex.byteLength);
    v.poke(20, process.ppid); // W_CREATOR
    expect(thrown(() => Mutex.openOrCreate(v.ours.buffer))).toMatchObject({ code: 'ETIMEDOUT' });
    v.close();
  }, 15_000);

  test('the heap end moved below the heap start: allocating refuses instead of overlapping regions', () => {
    const v = twoViews(1 << 20);
    const state = ShmState.open(v.ours.buffer);
    v.poke(24, 4096); // W_HEAP_NEXT_LO, inside the directory's own entries
    v.poke(28, 0);
    expect(RegionDirectory.overheadFor()).toBeGreaterThan(4096);
    expect(thrown(() => state.counter64('first'))).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'RegionDirectory', word: 'the heap end word' });
    // Once a region exists, every lookup validates it against the heap bounds too.
    v.poke(24, RegionDirectory.overheadFor());
    state.counter64('first');
    v.poke(24, 4096);
    expect(() => state.counter64('second')).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BAD_HEADER' }));
    v.close();
  });
});

describe('the region directory\'s creator word', () => {
  test('a live pid in the creator word of fresh memory fails open() with ETIMEDOUT after a bound, not a hang', () => {
    const v = twoViews(1 << 16);
    v.poke(32, process.ppid); // W_CREATOR: someone "creating" for good, the magic never set
    const started = performance.now();
    expect(thrown(() => RegionDirectory.open(v.ours.buffer))).toMatchObject({ code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(10_000);
    v.close();
  }, 15_000);
});

describe('Struct layouts stored in shared memory', () => {
  const layout = t.struct({ hits: t.u64, name: t.bytes(8) });
  const JSON_AT = 64 + 8; // copy 0: layout version, JSON length, then the JSON text

  function storeLayout(v: ReturnType<typeof twoViews>, json: string): void {
    const bytes = Buffer.from(json);
    v.peer.buffer.set(bytes, JSON_AT);
    v.poke(64 + 4, bytes.length);
  }

  test('a stored layout of zero-size elements asking for 2^48 accessors is refused (ERR_SHM_STATE_BAD_HEADER), not built', () => {
    const v = twoViews(Struct.byteLengthFor(layout));
    Struct.create(v.ours.buffer, { layout });
    storeLayout(v, JSON.stringify({ struct: { x: { array: { array: { struct: {} }, length: 1 << 24 }, length: 1 << 24 } } }));
    expect(thrown(() => inspectStruct(v.ours.buffer, 0))).toMatchObject({ code: 'ERR_SHM_STATE_BAD_HEADER' });
    const migrate = () => ({});
    expect(thrown(() => Struct.open(v.ours.buffer, { layout, version: 2, migrate }))).toMatchObject({ code: 'ERR_SHM_STATE_BAD_HEADER' });
    v.close();
  });

  test('a stored field named toObject is refused with a coded error (a view cannot hold it)', () => {
    const name = 'toObject';
    const v = twoViews(Struct.byteLengthFor(layout));
    Struct.create(v.ours.buffer, { layout });
    storeLayout(v, `{"struct":{"${name}":"u8"}}`);
    expect(thrown(() => inspectStruct(v.ours.buffer, 0))).toMatchObject({ code: 'ERR_SHM_STATE_BAD_HEADER' });
    v.close();
  });
});

describe('Ring and Seq descriptors written by a peer', () => {
  test('a frozen descriptor with a field above 2^53 fails frozen(), restore() and Seq.open with ERR_SHM_STATE_CORRUPT', () => {
    const v = twoViews(Seq.byteLengthFor(64));
    const seq = Seq.create(v.ours.buffer, { buffer: 64 });
    seq.set(Buffer.from('value'));
    const ring = Ring.open(v.ours.buffer);
    const [f] = ring.frozen();
    v.poke(64 + (f?.index ?? 0) * 32 + 20, -1); // D_START hi word: start ≥ 2^63
    expect(thrown(() => ring.frozen())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT', structure: 'Ring' });
    expect(thrown(() => ring.restore())).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    expect(thrown(() => Seq.open(v.ours.buffer, { buffer: 64 }))).toMatchObject({ code: 'ERR_SHM_STATE_CORRUPT' });
    v.close();
  });
});
