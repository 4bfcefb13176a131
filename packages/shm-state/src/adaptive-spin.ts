/**
 * Adaptive spinning before a wait sleeps (in the spirit of glibc's adaptive
 * mutexes, plus a probe long enough to cover a wakeup).
 *
 * A spin is worth its CPU when it catches the change sooner than a wakeup
 * would deliver it; a waker's write plus a sleeper's wakeup cost about as much
 * CPU as 20 µs of spinning (`base`). So the steady budget is at most `base`:
 * it doubles when a spin catches the change and halves when the wait had to
 * sleep anyway (the other side shares our core, or is busy elsewhere).
 *
 * That alone never reaches the fast state of a ping-pong between two cores:
 * while both sides sleep, each reply takes the other side's wakeup (30–60 µs
 * on a VM), longer than any `base` spin. So a sleeping waiter probes now and
 * then with a `probe`-long spin. When the probe catches a reply late (after
 * more than `base`), the waiter keeps spinning that long for a short run of
 * waits; when its peer does the same, each side's wait becomes the other's
 * reaction time (a few microseconds) and both settle at `base`. When a long
 * run of such quick catches breaks (the peer was descheduled once), one probe
 * at once gets both back. A producer that is merely slow never turns the
 * catches quick: after the run the waiter sleeps again and probes ever more
 * rarely (every 32 sleeps, doubling to 4096) until a quick catch resets that.
 */
export class AdaptiveSpin {
  #budgetUs: number;
  #sleeps = 0;
  #probeEvery = MIN_PROBE_EVERY;
  #lateCatches = 0;
  #quickStreak = 0;

  /** `base`: the steady spin limit (µs); `probe`: the occasional long spin (µs, ≥ base). */
  constructor(
    readonly base: number,
    readonly probe: number = base,
  ) {
    this.#budgetUs = base;
  }

  /** The spin the next adaptive wait gets (µs; 0 sleeps at once). Counts a sleep when 0. */
  next(): number {
    if (this.#budgetUs >= 0.5) return this.#budgetUs;
    if (++this.#sleeps < this.#probeEvery) return 0;
    this.#sleeps = 0;
    return this.probe;
  }

  /** A spin of `budget` µs caught the change after `us` µs. */
  caught(us: number, budget: number): void {
    if (us <= this.base) {
      this.#quickStreak++;
      this.#lateCatches = 0;
      this.#probeEvery = MIN_PROBE_EVERY;
      this.#budgetUs = Math.min(this.base, budget * 2 + 1);
      return;
    }
    this.#quickStreak = 0;
    if (++this.#lateCatches <= LATE_RUN) {
      this.#budgetUs = Math.min(this.probe, us * 2);
      return;
    }
    // Late catches that never turn quick: a slow producer, not a spinning
    // peer. Sleep, and look again later.
    this.#lateCatches = 0;
    this.#backOff();
  }

  /** A spin of `budget` µs ended without the change; the wait sleeps. */
  missed(budget: number): void {
    const streak = this.#quickStreak;
    this.#quickStreak = 0;
    if (budget > this.base) this.#backOff();
    // A run of quick replies just broke: the peer was held up once, slept,
    // and now needs a wakeup for every reply. Probe at once to get back.
    else if (streak >= QUICK_STREAK) this.#budgetUs = this.probe;
    else this.#budgetUs = budget / 2;
  }

  #backOff(): void {
    this.#budgetUs = 0;
    this.#sleeps = 0;
    this.#probeEvery = Math.min(MAX_PROBE_EVERY, this.#probeEvery * 2);
  }

  /**
   * Re-runs `check` until it returns something other than `undefined` or the
   * budget (`spinUs` when given, else the adaptive one) is spent; then
   * returns `undefined` and the caller sleeps.
   */
  spin<T>(check: () => T | undefined, spinUs: number | undefined): T | undefined {
    const adaptive = spinUs === undefined;
    const budget = adaptive ? this.next() : spinUs;
    if (budget <= 0) return undefined;
    const start = performance.now();
    const until = start + budget / 1000;
    for (let i = 1; ; i++) {
      const v = check();
      if (v !== undefined) {
        if (adaptive) this.#settle((performance.now() - start) * 1000, budget);
        return v;
      }
      if ((i & 15) === 0 && performance.now() >= until) break;
    }
    if (adaptive) this.missed(budget);
    return undefined;
  }

  #settle(us: number, budget: number): void {
    // Caught only after overrunning the budget: this process was descheduled
    // mid-spin (its peer shares the core), which is no spin that paid.
    if (us <= budget * 2) this.caught(us, budget);
    else this.missed(budget);
  }
}

/** Sleeps between probes, at first and after a quick catch. */
const MIN_PROBE_EVERY = 32;
/** Most sleeps between probes, while probes keep failing. */
const MAX_PROBE_EVERY = 4096;
/** Late catches in a row a waiter keeps spinning for before it sleeps again. */
const LATE_RUN = 16;
/** Quick catches in a row that mark a spinning peer, worth a probe when one wait misses. */
const QUICK_STREAK = 8;
