import { prefault, PREFAULT_MIN } from '../src/client/prefault';

describe('prefault', () => {
  it('writes a byte in every 4 KiB page of the range, and nothing outside it', () => {
    const buf = Buffer.alloc(300_000, 0xff);
    const from = 1000;
    const to = 250_000;
    prefault(buf, from, to);
    for (let page = from; page < to; page += 4096) {
      const written = buf.subarray(page, Math.min(to, page + 4096)).indexOf(0);
      expect(written).toBeGreaterThanOrEqual(0);
    }
    expect(buf[to - 1]).toBe(0);
    expect(buf.subarray(0, from).every((b) => b === 0xff)).toBe(true);
    expect(buf.subarray(to).every((b) => b === 0xff)).toBe(true);
  });

  it('stops at the end of the buffer', () => {
    const buf = Buffer.alloc(PREFAULT_MIN + 10, 0xff);
    prefault(buf, 0, 10 * PREFAULT_MIN);
    expect(buf[buf.length - 1]).toBe(0);
    expect(buf[0]).toBe(0);
  });

  it('leaves ranges under PREFAULT_MIN alone', () => {
    const buf = Buffer.alloc(2 * PREFAULT_MIN, 0xff);
    prefault(buf, 10, 10 + PREFAULT_MIN - 1);
    expect(buf.every((b) => b === 0xff)).toBe(true);
  });
});
