/** Which limit a request would cross: one holder's share, or everyone's together. */
export type BudgetScope = 'connection' | 'total';

export interface BudgetLimits {
  /** Most units one holder (a connection) may hold. */
  perHolder: number;
  /** Most units all holders together may hold. */
  total: number;
}

/**
 * Counts a resource (mappings, unread reply bytes) per holder and in total,
 * against two limits. It only counts: what to do when a limit is reached
 * (refuse, stop reading, close) is the caller's decision.
 */
export class Budget<H> {
  readonly #held = new Map<H, number>();
  #total = 0;

  constructor(
    /** Names the resource in messages, e.g. "mappings". */
    readonly what: string,
    readonly limits: Readonly<BudgetLimits>,
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`budget ${what}: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Units `holder` holds now. */
  heldBy(holder: H): number {
    return this.#held.get(holder) ?? 0;
  }

  get total(): number {
    return this.#total;
  }

  /** Holders with a non-zero count. */
  get holders(): number {
    return this.#held.size;
  }

  /** The scope whose limit adding `n` units for `holder` would exceed, or undefined when it fits. */
  wouldExceed(holder: H, n: number): BudgetScope | undefined {
    if (this.heldBy(holder) + n > this.limits.perHolder) return 'connection';
    if (this.#total + n > this.limits.total) return 'total';
    return undefined;
  }

  /** Adds `n` units for `holder` if both limits allow; returns the scope that refused otherwise. */
  tryTake(holder: H, n = 1): BudgetScope | undefined {
    const over = this.wouldExceed(holder, n);
    if (over === undefined) this.#set(holder, this.heldBy(holder) + n);
    return over;
  }

  /** Gives back `n` units of `holder` (never below zero). */
  release(holder: H, n = 1): void {
    this.#set(holder, Math.max(0, this.heldBy(holder) - n));
  }

  /**
   * Records that `holder` now holds exactly `n` units, whatever the limits
   * say (for a measured quantity such as a socket's queued bytes).
   */
  set(holder: H, n: number): void {
    this.#set(holder, Math.max(0, n));
  }

  /** Drops `holder` and everything it held. */
  forget(holder: H): void {
    this.#set(holder, 0);
  }

  /** True when `holder` is at or over its own limit, or everyone together is at or over the total. */
  isFull(holder: H): BudgetScope | undefined {
    if (this.heldBy(holder) >= this.limits.perHolder) return 'connection';
    if (this.#total >= this.limits.total) return 'total';
    return undefined;
  }

  /** The holder holding the most units, and how many (undefined when nobody holds any). */
  largest(): { holder: H; held: number } | undefined {
    let best: { holder: H; held: number } | undefined;
    for (const [holder, held] of this.#held) if (best === undefined || held > best.held) best = { holder, held };
    return best;
  }

  #set(holder: H, n: number): void {
    const before = this.heldBy(holder);
    if (n === before) return;
    this.#total += n - before;
    if (n === 0) this.#held.delete(holder);
    else this.#held.set(holder, n);
  }
}
