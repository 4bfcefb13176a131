import { PageCache } from '../src/client/page-cache';

describe('PageCache', () => {
  test('invalidate drops only overlapping pages', () => {
    const c = new PageCache(4, 1024);
    for (let i = 0; i < 4; i++) c.set(i, Buffer.alloc(4, i));
    expect(c.invalidate(5, 9)).toBe(2); // pages 1 and 2
    expect([0, 1, 2, 3].map((i) => c.has(i))).toEqual([true, false, false, true]);
    expect(c.invalidate(3, 3)).toBe(0);
  });

  test('evicts least recently used past capacity', () => {
    const c = new PageCache(4, 8);
    c.set(0, Buffer.alloc(4));
    c.set(1, Buffer.alloc(4));
    c.get(0);
    c.set(2, Buffer.alloc(4));
    expect(c.has(0)).toBe(true);
    expect(c.has(1)).toBe(false);
    expect(c.bytes).toBe(8);
  });

  test('patch writes into cached pages only, across page borders', () => {
    const c = new PageCache(4, 1024);
    c.set(0, Buffer.from('aaaa'));
    c.set(2, Buffer.from('cc'));
    c.patch(2, Buffer.from('XYZWVUT'));
    expect(c.get(0)?.toString()).toBe('aaXY');
    expect(c.has(1)).toBe(false);
    expect(c.get(2)?.toString()).toBe('Tc'); // byte 8 = 'T', byte 9 untouched
  });

  test('capacity 0 caches nothing', () => {
    const c = new PageCache(4, 0);
    c.set(0, Buffer.alloc(4));
    expect(c.size).toBe(0);
  });
});
