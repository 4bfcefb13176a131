import { formatSize, parseSize, sizeOption } from '../src/cli/size';

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['0', 0],
    ['64k', 65536],
    ['64K', 65536],
    ['8M', 8388608],
    ['8m', 8388608],
    ['1G', 1073741824],
    ['2T', 2 * 1024 ** 4],
    ['2GiB', 2147483648],
    ['16 kb', 16384],
    ['16KiB', 16384],
    ['3mib', 3 * 1024 ** 2],
    ['100b', 100],
    [' 7 ', 7],
  ])('reads %j', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, bytes });
  });

  it('counts a plain number in the unit the option documents', () => {
    expect(parseSize('128', 1024)).toEqual({ ok: true, bytes: 131072 });
    expect(parseSize('1M', 1024)).toEqual({ ok: true, bytes: 1048576 });
  });

  it.each([
    ['-1', /negative/],
    ['-4k', /negative/],
    ['1.5k', /whole number/],
    ['.5M', /whole number/],
    ['', /not a size/],
    ['k', /not a size/],
    ['1x', /not a size/],
    ['1e3', /not a size/],
    ['0x10', /not a size/],
    ['1 2', /not a size/],
    ['8192T', /too large/],
    ['99999999999999999999', /too large/],
  ])('refuses %j', (text, reason) => {
    const r = parseSize(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });
});

describe('sizeOption', () => {
  it('names the option and the bounds', () => {
    expect(sizeOption('--max', '2k', { min: 1024, max: 4096 })).toBe(2048);
    expect(() => sizeOption('--max', '8k', { min: 1024, max: 4096 })).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE', message: '--max: "8k" is out of range (1 KiB to 4 KiB)' }),
    );
    expect(() => sizeOption('--max', 'lots')).toThrow(expect.objectContaining({ code: 'ERR_USAGE', message: expect.stringMatching(/^--max: "lots": not a size/) }));
  });
});

describe('formatSize', () => {
  it('formats binary multiples', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(8 * 1024 * 1024)).toBe('8 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
  });
});
