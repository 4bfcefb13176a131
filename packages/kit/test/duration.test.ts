import { durationOption, formatDuration, parseDuration } from '../src/cli/duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 's', 500],
    ['10s', 'ms', 10_000],
    ['1.5s', 'ms', 1500],
    ['2m', 's', 120_000],
    ['1h', 's', 3_600_000],
    ['0.0001s', 's', 1],
    ['0', 's', 0],
    ['250', 'ms', 250],
    ['2', 's', 2000],
    ['0.1', 's', 100],
  ] as const)('reads %j (plain number in %s)', (text, unit, ms) => {
    expect(parseDuration(text, unit)).toEqual({ ok: true, ms });
  });

  it.each([
    ['-1', /negative/],
    ['soon', /not a duration/],
    ['1d', /not a duration/],
    ['', /not a duration/],
    ['1e3', /not a duration/],
    ['10 s', /not a duration/],
    ['s', /not a duration/],
  ])('refuses %j', (text, reason) => {
    const r = parseDuration(text, 's');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(reason);
  });

  it('names the plain unit in the reason', () => {
    const r = parseDuration('x', 'ms');
    expect(r.ok ? '' : r.reason).toMatch(/a plain number is in ms/);
  });
});

describe('durationOption', () => {
  it('bounds the value and names the option', () => {
    expect(durationOption('--t', '2s', { plainUnit: 'ms', minMs: 1 })).toBe(2000);
    expect(() => durationOption('--t', '0', { plainUnit: 'ms', minMs: 1, maxMs: 60_000 })).toThrow(
      expect.objectContaining({ code: 'ERR_USAGE', message: '--t: "0" is out of range (1 ms to 60 s)' }),
    );
  });

  it('formats for log lines', () => {
    expect(formatDuration(500)).toBe('500 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
  });
});
