import * as sys from '@shmkit/shm-fd/sys';

import { HashMap } from '../src';

const CLOSED = expect.objectContaining({ code: 'ERR_SHM_CLOSED' });

function map(capacity = 64, keySize = 16, valueSize = 32) {
  const m = sys.mapAnonymous(HashMap.byteLengthFor({ capacity, keySize, valueSize }));
  return { m, h: HashMap.create(m.buffer, { capacity, keySize, valueSize }) };
}

describe('HashMap zero-copy and no-allocation reads', () => {
  test('getInto copies into the target and returns the length; -1 when absent; too small a target is a coded error', () => {
    const { m, h } = map();
    h.set('k', 'hello');
    const target = Buffer.alloc(32, 0xee);
    expect(h.getInto('k', target)).toBe(5);
    expect(target.subarray(0, 5).toString()).toBe('hello');
    expect(target[5]).toBe(0xee);
    expect(h.getInto('absent', target)).toBe(-1);
    expect(() => h.getInto('k', Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'ERR_SHM_STATE_BUFFER_TOO_SMALL' }));
    h.set('empty', Buffer.alloc(0));
    expect(h.getInto('empty', Buffer.alloc(0))).toBe(0);
    m.close();
  });

  test('getView shows the stored bytes and stays current until the next write of that key', () => {
    const { m, h } = map();
    h.set('a', 'first');
    h.set('b', 'other');
    const v = h.getView('a')!;
    expect(v.value.toString()).toBe('first');
    expect(v.isCurrent()).toBe(true);
    // Writes of other keys leave it current.
    h.set('b', 'changed');
    h.set('c', 'new');
    h.delete('c');
    expect(v.isCurrent()).toBe(true);
    expect(v.value.toString()).toBe('first');
    // A write of the key: no longer current; the view shows the slot's bytes now.
    h.set('a', 'SECOND');
    expect(v.isCurrent()).toBe(false);
    expect(v.value.toString()).toBe('SECON'); // the view keeps the old length
    expect(h.getView('a')!.value.toString()).toBe('SECOND');
    const gone = h.getView('b')!;
    h.delete('b');
    expect(gone.isCurrent()).toBe(false);
    expect(h.getView('b')).toBeUndefined();
    m.close();
  });

  test('a view written by another handle (as by another process) over the same memory goes stale too', () => {
    const { m, h } = map();
    const other = HashMap.open(m.buffer);
    h.set('key', Buffer.from([1, 2, 3]));
    const v = h.getView('key')!;
    expect([...v.value]).toEqual([1, 2, 3]);
    other.set('key', Buffer.from([9, 9, 9]));
    expect(v.isCurrent()).toBe(false);
    expect([...v.value]).toEqual([9, 9, 9]);
    expect(other.getInto('key', Buffer.alloc(3))).toBe(3);
    m.close();
  });

  test('after close: getView/getInto/get throw ERR_SHM_CLOSED, a held view reads without crashing and isCurrent throws', () => {
    const { m, h } = map();
    h.set('k', 'value');
    const v = h.getView('k')!;
    h.close();
    expect(() => h.getView('k')).toThrow(CLOSED);
    expect(() => h.getInto('k', Buffer.alloc(8))).toThrow(CLOSED);
    expect(() => v.isCurrent()).toThrow(CLOSED);
    expect(v.value.toString()).toBe('value');

    const again = HashMap.open(m.buffer);
    const w = again.getView('k')!;
    m.close();
    expect(() => w.isCurrent()).toThrow(CLOSED);
    expect(() => again.getInto('k', Buffer.alloc(8))).toThrow(CLOSED);
    // The closed mapping's pages read as zeros; never a crash.
    expect([...w.value]).toEqual([0, 0, 0, 0, 0]);
  });

  test('string keys encode without a per-call buffer, multi-byte characters and over-long keys included', () => {
    const { m, h } = map(64, 8, 8);
    const TOO_LARGE = (n: number) => expect.objectContaining({ code: 'ERR_SHM_STATE_MESSAGE_TOO_LARGE', message: expect.stringContaining(`${n}-byte key`) });
    h.set('ab€€', '8 bytes'); // 1 + 1 + 3 + 3
    h.set('äöü', 'six');
    h.set('abcdefgh', 'eight');
    expect(() => h.set('äöü€', 'x')).toThrow(TOO_LARGE(9));
    expect(() => h.get('€€€€€€€€€€')).toThrow(TOO_LARGE(30));
    expect(() => h.getView('abcdefghi')).toThrow(TOO_LARGE(9));
    expect(h.get('ab€€')?.toString()).toBe('8 bytes');
    expect(h.get('äöü')?.toString()).toBe('six');
    expect(h.get('abcdefgh')?.toString()).toBe('eight');
    expect(h.get('abcdefg')).toBeUndefined();
    // A string key and its bytes name the same entry.
    expect(h.get(Buffer.from('äöü'))?.toString()).toBe('six');
    expect(h.size).toBe(3);
    m.close();
  });
});
