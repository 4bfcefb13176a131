import { AdaptiveSpin } from '../src/adaptive-spin';

const BASE = 20;
const PROBE = 200;

/** Budgets handed out until the first non-zero one; returns [sleeps, that budget]. */
function sleepsUntilSpin(s: AdaptiveSpin, limit = 10_000): [number, number] {
  for (let sleeps = 0; sleeps < limit; sleeps++) {
    const b = s.next();
    if (b > 0) return [sleeps, b];
  }
  throw new Error('never spun again');
}

/** Drives a spinner from a fresh start into the sleeping state. */
function asleep(): AdaptiveSpin {
  const s = new AdaptiveSpin(BASE, PROBE);
  for (let b = s.next(); b > 0; b = s.next()) s.missed(b);
  return s;
}

describe('AdaptiveSpin', () => {
  test('misses halve the budget down to sleeping; a sleeper probes with the long spin every 32 waits', () => {
    const s = new AdaptiveSpin(BASE, PROBE);
    const budgets: number[] = [];
    for (let b = s.next(); b > 0; b = s.next()) {
      budgets.push(b);
      s.missed(b);
    }
    expect(budgets).toEqual([20, 10, 5, 2.5, 1.25, 0.625]);
    // next() above already counted one sleep.
    expect(sleepsUntilSpin(s)).toEqual([30, PROBE]);
  });

  test('probes that keep missing come ever more rarely, at most every 4096 sleeps', () => {
    const s = asleep();
    const gaps: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [sleeps, b] = sleepsUntilSpin(s);
      expect(b).toBe(PROBE);
      gaps.push(sleeps + 1);
      s.missed(b);
    }
    expect(gaps).toEqual([31, 64, 128, 256, 512, 1024, 2048, 4096, 4096, 4096]);
  });

  test('a ping-pong partner found by a probe: a late catch keeps spinning that long, quick catches settle at base', () => {
    const s = asleep();
    const [, probe] = sleepsUntilSpin(s);
    s.caught(45, probe); // the peer had to wake first
    expect(s.next()).toBe(90);
    s.caught(2, 90); // the peer now spins too
    expect(s.next()).toBe(BASE);
    s.caught(1.5, BASE);
    expect(s.next()).toBe(BASE);
  });

  test('a slow producer (every catch late) gets a bounded run of long spins, then sleeps and probes less often', () => {
    const s = asleep();
    let [, b] = sleepsUntilSpin(s);
    let spins = 0;
    while (b > 0) {
      spins++;
      s.caught(60, b);
      b = s.next();
    }
    expect(spins).toBe(17); // the probe, then 16 more
    // The back-off doubled the probe interval: the probe is the 64th wait
    // after it, and the loop's last next() was the first.
    expect(1 + sleepsUntilSpin(s)[0] + 1).toBe(64);
  });

  test('a broken run of quick catches probes at once; a short run only halves', () => {
    const s = new AdaptiveSpin(BASE, PROBE);
    for (let i = 0; i < 8; i++) s.caught(2, s.next());
    s.missed(s.next());
    expect(s.next()).toBe(PROBE);
    s.caught(40, PROBE);
    expect(s.next()).toBe(80);

    const t = new AdaptiveSpin(BASE, PROBE);
    for (let i = 0; i < 3; i++) t.caught(2, t.next());
    t.missed(t.next());
    expect(t.next()).toBe(BASE / 2);
  });

  test('a quick catch resets the probe interval', () => {
    const s = asleep();
    for (let i = 0; i < 3; i++) s.missed(sleepsUntilSpin(s)[1]);
    s.caught(3, sleepsUntilSpin(s)[1]);
    expect(s.next()).toBe(BASE);
    s.missed(BASE);
    for (let b = s.next(); b > 0; b = s.next()) s.missed(b);
    // Back to every 32nd wait (the loop's last next() was the first).
    expect(1 + sleepsUntilSpin(s)[0] + 1).toBe(32);
  });

  test('spin() returns the value once check() has one; an explicit spinUs leaves the adaptive budget alone', () => {
    const s = new AdaptiveSpin(BASE, PROBE);
    let calls = 0;
    expect(s.spin(() => (++calls >= 5 ? 'v' : undefined), 1_000_000)).toBe('v');
    expect(calls).toBe(5);
    expect(s.spin(() => undefined, 50)).toBeUndefined();
    expect(s.next()).toBe(BASE);
    // Adaptive: a miss halves.
    expect(s.spin(() => undefined, undefined)).toBeUndefined();
    expect(s.next()).toBe(BASE / 2);
  });

  test('spin() with a zero budget does not call check()', () => {
    const s = new AdaptiveSpin(0, 0);
    let calls = 0;
    expect(
      s.spin(() => {
        calls++;
        return 1;
      }, undefined),
    ).toBeUndefined();
    expect(calls).toBe(0);
  });
});
