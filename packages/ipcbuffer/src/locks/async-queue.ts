import { LockTimeoutError } from '../errors';
import { FutexThread } from './futex-thread';
import { SLICE_MS } from './words';

/** What a lock tells the queue about itself. */
export interface LockOps {
  /** Takes the lock now if possible. */
  tryTake(): boolean;
  /** Takes over what dead holders left (called between sleeps). */
  recover(): void;
  /**
   * Announces a sleeper and returns the word to sleep on and the value it
   * must still hold, or null when the state moved and taking should be retried.
   */
  prepare(): { index: number; expected: number } | null;
  /** Withdraws what prepare() announced. */
  finish(): void;
}

interface Entry {
  resolve: () => void;
  reject: (err: unknown) => void;
  deadline: number;
  timeoutMs: number;
  done: boolean;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * The async waiters of one lock object in this thread, served first come
 * first served. One pump sleeps in a helper thread on the lock's futex word
 * on behalf of all of them, so the event loop never blocks.
 */
export class AsyncQueue {
  readonly #queue: Entry[] = [];
  readonly #thread = new FutexThread();
  #pumping = false;

  constructor(
    private readonly words: Int32Array,
    private readonly ops: LockOps,
    private readonly what: string,
  ) {}

  enqueue(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { resolve, reject, deadline: Date.now() + timeoutMs, timeoutMs, done: false };
      if (signal !== undefined) {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        entry.signal = signal;
        entry.onAbort = () => this.#settle(entry, signal.reason);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#queue.push(entry);
      if (!this.#pumping) void this.#pump();
    });
  }

  #settle(e: Entry, err?: unknown): void {
    if (e.done) return;
    e.done = true;
    if (e.onAbort !== undefined) e.signal?.removeEventListener('abort', e.onAbort);
    const i = this.#queue.indexOf(e);
    if (i >= 0) this.#queue.splice(i, 1);
    if (err === undefined) e.resolve();
    else e.reject(err);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const now = Date.now();
        for (const e of [...this.#queue]) if (e.deadline <= now) this.#settle(e, new LockTimeoutError(this.what, e.timeoutMs));
        const head = this.#queue[0];
        if (head === undefined) break;
        if (this.ops.tryTake()) {
          this.#settle(head);
          continue;
        }
        this.ops.recover();
        if (this.ops.tryTake()) {
          this.#settle(head);
          continue;
        }
        const p = this.ops.prepare();
        if (p === null) continue;
        const earliest = Math.min(...this.#queue.map((e) => e.deadline));
        try {
          await this.#thread.wait(this.words, p.index, p.expected, Math.max(1, Math.min(SLICE_MS, earliest - Date.now())));
        } finally {
          this.ops.finish();
        }
      }
    } catch (err) {
      for (const e of [...this.#queue]) this.#settle(e, err);
    } finally {
      this.#pumping = false;
    }
  }

  get pending(): number {
    return this.#queue.length;
  }

  close(): void {
    this.#thread.close();
  }
}
