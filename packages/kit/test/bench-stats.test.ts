import { median, percentile } from '../src/bench/stats';

describe('bench statistics', () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('percentile takes p from 0 to 1 and returns a measured value', () => {
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 0.5)).toBe(6);
    expect(percentile(sorted, 0.99)).toBe(10);
    expect(percentile(sorted, 1)).toBe(10);
    expect(percentile([42], 0.99)).toBe(42);
  });

  it('percentile refuses p outside 0..1 (a 0-100 percent is a mistake) and an empty list', () => {
    expect(() => percentile(sorted, 50)).toThrow(RangeError);
    expect(() => percentile(sorted, -0.1)).toThrow(RangeError);
    expect(() => percentile(sorted, Number.NaN)).toThrow(RangeError);
    expect(() => percentile([], 0.5)).toThrow(RangeError);
  });

  it('median sorts a copy: the middle of an odd count, the upper middle of an even one', () => {
    const xs = [9, 1, 5, 3, 7];
    expect(median(xs)).toBe(5);
    expect(xs).toEqual([9, 1, 5, 3, 7]);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([10, 2, 33])).toBe(10);
  });
});
