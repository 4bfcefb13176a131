import { Linger } from '../src/linger';

describe('Linger', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('releases once untouched for between ms and twice ms', () => {
    const release = jest.fn();
    const l = new Linger(1000, release);
    l.touch();
    jest.advanceTimersByTime(999);
    expect(release).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(release).toHaveBeenCalledTimes(1);
    // Touched again later: a new linger.
    l.touch();
    jest.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(2);
  });

  test('keeps the resource while it is touched, and releases after the last touch', () => {
    const release = jest.fn();
    const l = new Linger(1000, release);
    l.touch();
    for (let t = 0; t < 10_000; t += 100) {
      jest.advanceTimersByTime(100);
      l.touch();
    }
    expect(release).not.toHaveBeenCalled();
    jest.advanceTimersByTime(2000);
    expect(release).toHaveBeenCalledTimes(1);
  });

  test('keeps the resource while busy() says it is in use', () => {
    const release = jest.fn();
    let busy = true;
    const l = new Linger(1000, release, () => busy);
    l.touch();
    jest.advanceTimersByTime(10_000);
    expect(release).not.toHaveBeenCalled();
    busy = false;
    jest.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(1);
  });

  test('cancel() forgets the pending release', () => {
    const release = jest.fn();
    const l = new Linger(1000, release);
    l.touch();
    l.cancel();
    jest.advanceTimersByTime(5000);
    expect(release).not.toHaveBeenCalled();
  });
});
