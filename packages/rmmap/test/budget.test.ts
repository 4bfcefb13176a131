import { Budget } from '../src/server/budget';
import { DEFAULT_LIMITS, formatBytes, resolveLimits } from '../src/server/limits';
import { withoutRoot } from '../src/server/root-relative';

describe('Budget accounting', () => {
  test('counts per holder and in total; refuses with the scope that would be exceeded', () => {
    const b = new Budget<string>('mappings', { perHolder: 2, total: 3 });
    expect(b.tryTake('a')).toBeUndefined();
    expect(b.tryTake('a')).toBeUndefined();
    expect(b.tryTake('a')).toBe('connection');
    expect(b.heldBy('a')).toBe(2);
    expect(b.tryTake('b')).toBeUndefined();
    // b is under its own limit, but everyone together is at 3.
    expect(b.tryTake('b')).toBe('total');
    expect([b.heldBy('b'), b.total]).toEqual([1, 3]);
    b.release('a');
    expect(b.tryTake('b')).toBeUndefined();
    expect([b.heldBy('a'), b.heldBy('b'), b.total]).toEqual([1, 2, 3]);
  });

  test('release never goes below zero; forget drops a holder and its share of the total', () => {
    const b = new Budget<string>('x', { perHolder: 10, total: 20 });
    b.tryTake('a', 4);
    b.tryTake('b', 5);
    b.release('a', 7);
    expect([b.heldBy('a'), b.total, b.holders]).toEqual([0, 5, 1]);
    b.forget('b');
    expect([b.total, b.holders]).toEqual([0, 0]);
  });

  test('set records a measured amount past the limits; isFull and largest see it', () => {
    const b = new Budget<string>('unread reply bytes', { perHolder: 100, total: 150 });
    b.set('a', 130);
    expect(b.isFull('a')).toBe('connection');
    expect(b.isFull('b')).toBeUndefined();
    b.set('b', 30);
    expect(b.isFull('b')).toBe('total');
    expect(b.largest()).toEqual({ holder: 'a', held: 130 });
    b.set('a', 0);
    expect([b.total, b.isFull('b'), b.largest()]).toEqual([30, undefined, { holder: 'b', held: 30 }]);
  });

  test('limits must be positive integers', () => {
    expect(() => new Budget('x', { perHolder: 0, total: 1 })).toThrow(/perHolder must be a positive integer/);
    expect(() => new Budget('x', { perHolder: 1, total: 1.5 })).toThrow(/total must be a positive integer/);
  });
});

describe('server limits', () => {
  test('defaults for a small machine', () => {
    expect(resolveLimits({}, 65530)).toEqual({
      maxMappingsPerConnection: 1024,
      maxMappings: 16384,
      maxUnreadPerConnection: 64 * 1024 * 1024,
      maxUnread: 512 * 1024 * 1024,
      maxConnections: 256,
      handshakeTimeoutMs: 10_000,
    });
    expect(DEFAULT_LIMITS.handshakeTimeoutMs).toBeLessThanOrEqual(10_000);
  });

  test('the default total of mappings stays under half of vm.max_map_count (past it, mmap fails for V8 too)', () => {
    expect(resolveLimits({}, 4000)).toMatchObject({ maxMappings: 2000, maxMappingsPerConnection: 1024 });
    expect(resolveLimits({}, 1000)).toMatchObject({ maxMappings: 500, maxMappingsPerConnection: 500 });
    expect(resolveLimits({}, undefined).maxMappings).toBe(16384);
  });

  test('given values override; out-of-range or inconsistent ones are refused with ERR_OUT_OF_RANGE', () => {
    expect(resolveLimits({ maxConnections: 3, handshakeTimeoutMs: 250 }, 65530)).toMatchObject({ maxConnections: 3, handshakeTimeoutMs: 250 });
    expect(() => resolveLimits({ maxConnections: 0 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('maxConnections') }));
    expect(() => resolveLimits({ maxUnread: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => resolveLimits({ maxMappingsPerConnection: 20, maxMappings: 10 })).toThrow(/must not exceed maxMappings \(10\)/);
    expect(() => resolveLimits({ maxUnreadPerConnection: 1 << 30 })).toThrow(/must not exceed maxUnread/);
  });

  test('formatBytes names whole units', () => {
    expect([formatBytes(64 * 1024 * 1024), formatBytes(1536 * 1024), formatBytes(2 ** 30), formatBytes(100)]).toEqual(['64 MiB', '1536 KiB', '1 GiB', '100 bytes']);
  });
});

describe('withoutRoot', () => {
  test('names paths relative to the root, the root itself ".", whatever spelling of it appears', () => {
    const roots = ['/srv/data', '/srv/link/'];
    expect(withoutRoot("ENOENT: no such file or directory, open '/srv/data/a/b.bin'", roots)).toBe("ENOENT: no such file or directory, open 'a/b.bin'");
    expect(withoutRoot('cannot serve /srv/data: gone; /srv/link/x too', roots)).toBe('cannot serve .: gone; x too');
    expect(withoutRoot('/srv/database stays', ['/srv/data'])).toBe('/srv/database stays');
    expect(withoutRoot('a (/srv/data)', ['/srv/data/'])).toBe('a (.)');
  });
});
