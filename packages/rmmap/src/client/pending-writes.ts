import { copyInto } from './copy-into';

export interface PendingWrite {
  readonly at: number;
  readonly data: Buffer;
  /** The reply arrived (or the request failed): the write is no longer laid over reads. */
  answered: boolean;
  /** The write's promise settled. */
  finished: boolean;
  /** Resolves with the version the write produced. */
  done: Promise<number> | undefined;
}

/**
 * This mapping's writes, each from its send until both its reply arrived
 * and its promise settled. Until the reply arrives a write is laid over
 * every READ snapshot (the server applies it after those READs); close()
 * waits for every promise.
 */
export class PendingWrites {
  readonly #writes = new Set<PendingWrite>();
  #unanswered = 0;

  /** No write is waiting for its reply. */
  get allAnswered(): boolean {
    return this.#unanswered === 0;
  }

  /** Tracks a write about to be sent. */
  add(at: number, data: Buffer): PendingWrite {
    const w: PendingWrite = { at, data, answered: false, finished: false, done: undefined };
    this.#writes.add(w);
    this.#unanswered++;
    return w;
  }

  /** Called in step with the frames, as the reply arrives (or the request fails). */
  answered(w: PendingWrite): void {
    if (w.answered) return;
    w.answered = true;
    this.#unanswered--;
    if (w.finished) this.#writes.delete(w);
  }

  /** Called as the write's promise settles. */
  finished(w: PendingWrite): void {
    w.finished = true;
    if (w.answered) this.#writes.delete(w);
  }

  /** Copies the unanswered writes, oldest first, into `out`, which holds bytes [outStart, outEnd). */
  overlay(out: Buffer, outStart: number, outEnd: number): void {
    if (this.#unanswered === 0) return;
    for (const w of this.#writes) if (!w.answered) copyInto(out, outStart, outEnd, w.at, w.data);
  }

  /** Resolves once every write's promise settled, however it did. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#writes].map((w) => w.done));
  }
}
