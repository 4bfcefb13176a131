/**
 * Keeps a daemon's log from being a resource a client controls: at most one
 * line per key (say "client 7 bad-frame") per interval; what is held back is
 * counted and reported with the next line of that key.
 *
 * The table of keys is bounded too: when it is full, keys whose interval has
 * passed are dropped, and if none has, the key "*" stands for all new ones.
 */
export interface LogLimiterOptions {
  /** Minimum time between two lines of one key; default 1000 ms. */
  intervalMs?: number;
  /** Most keys remembered at once; default 1024. */
  maxKeys?: number;
}

export interface LogDecision {
  /** Write this line. */
  log: boolean;
  /** Lines of this key suppressed since the last one written. */
  dropped: number;
}

interface KeyState {
  last: number;
  dropped: number;
}

export class LogLimiter {
  readonly #interval: number;
  readonly #maxKeys: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(options: LogLimiterOptions = {}) {
    this.#interval = options.intervalMs ?? 1000;
    this.#maxKeys = Math.max(1, options.maxKeys ?? 1024);
  }

  allow(key: string, now: number = Date.now()): LogDecision {
    let state = this.#keys.get(key);
    if (state === undefined) {
      if (this.#keys.size >= this.#maxKeys) this.#sweep(now);
      if (this.#keys.size >= this.#maxKeys) key = '*';
      state = this.#keys.get(key);
      if (state === undefined) {
        this.#keys.set(key, { last: now, dropped: 0 });
        return { log: true, dropped: 0 };
      }
    }
    if (now - state.last < this.#interval) {
      state.dropped += 1;
      return { log: false, dropped: state.dropped };
    }
    const dropped = state.dropped;
    state.last = now;
    state.dropped = 0;
    return { log: true, dropped };
  }

  /** Forgets keys that are quiet for a whole interval and have nothing held back. */
  #sweep(now: number): void {
    for (const [k, s] of this.#keys) {
      if (now - s.last >= this.#interval && s.dropped === 0) this.#keys.delete(k);
    }
  }
}
