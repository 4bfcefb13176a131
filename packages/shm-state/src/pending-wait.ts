import { AbortError } from './errors';

export interface PendingWaitOptions {
  timeoutMs?: number | undefined;
  pollMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What a Notifier keeps of each sleeping wait. */
export interface Waiter {
  /** Re-checks the condition; true once settled. */
  run(): boolean;
  cancel(err: Error): void;
}

/**
 * One async wait of a Notifier that had to sleep: settles with the first
 * value of `check()` (re-run by `run()` on every ring, and every `pollMs`),
 * with `timedOut` when `timeoutMs` passes, or rejects on abort, `cancel()` or
 * a throwing `check()`. Settling calls `done` once, which forgets it.
 *
 * A class rather than closures: an await-driven consumer creates one per
 * message that has to wait, so its allocations are on the hot path.
 */
export class PendingWait<T, D> implements Waiter {
  #timer: NodeJS.Timeout | undefined;
  #poller: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    private readonly check: () => T | undefined,
    private readonly resolve: (value: T | D) => void,
    private readonly reject: (err: unknown) => void,
    private readonly done: (wait: Waiter) => void,
    options: PendingWaitOptions,
    private readonly timedOut: D,
  ) {
    const { timeoutMs, pollMs, signal } = options;
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.#timer = setTimeout(() => {
        if (this.run()) return;
        this.#finish();
        this.resolve(this.timedOut);
      }, Math.max(0, timeoutMs));
    }
    if (pollMs !== undefined && Number.isFinite(pollMs)) this.#poller = setInterval(() => this.run(), pollMs);
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => {
        this.#finish();
        this.reject(new AbortError('the wait', signal.reason));
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Re-checks the condition; true once settled. */
  run(): boolean {
    let v: T | undefined;
    try {
      v = this.check();
    } catch (err) {
      this.#finish();
      this.reject(err);
      return true;
    }
    if (v === undefined) return false;
    this.#finish();
    this.resolve(v);
    return true;
  }

  cancel(err: Error): void {
    this.#finish();
    this.reject(err);
  }

  #finish(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#poller !== undefined) clearInterval(this.#poller);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.done(this);
  }
}
