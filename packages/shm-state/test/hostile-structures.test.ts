import { HashMap, Mutex, RegionDirectory, ShmState } from '../src';
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
