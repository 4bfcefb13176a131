/**
 * Adaptive spinning (like glibc's adaptive mutexes): a wait re-checks its
 * condition for up to `max` microseconds before sleeping; the budget doubles
 * when a spin catches the change and halves when the wait had to sleep anyway
 * (e.g. the other side was asleep, or shares our core, so its reply takes a
 * wakeup), with a full-budget probe every 32 sleeps. Streams and ping-pongs
 * with a spinning peer on another core keep spinning; the rest stop.
 */
export class AdaptiveSpin {
  #budgetUs: number;
  #sleeps = 0;

  constructor(readonly max: number) {
    this.#budgetUs = max;
  }

  /**
   * Re-runs `check` until it returns something other than `undefined` or the
   * budget (`spinUs` when given, else the adaptive one) is spent; then
   * returns `undefined` and the caller sleeps.
   */
  spin<T>(check: () => T | undefined, spinUs: number | undefined): T | undefined {
    const adaptive = spinUs === undefined;
    const budget = adaptive ? this.#budget() : spinUs;
    if (budget > 0) {
      const until = performance.now() + budget / 1000;
      for (let i = 1; ; i++) {
        const v = check();
        if (v !== undefined) {
          if (adaptive) this.#budgetUs = Math.min(this.max, this.#budgetUs * 2 + 1);
          return v;
        }
        if ((i & 15) === 0 && performance.now() >= until) break;
      }
    }
    // The spin did not pay off: spin less next time.
    if (adaptive) this.#budgetUs /= 2;
    return undefined;
  }

  #budget(): number {
    if (this.#budgetUs >= 0.5) return this.#budgetUs;
    return ++this.#sleeps % 32 === 0 ? this.max : 0;
  }
}
