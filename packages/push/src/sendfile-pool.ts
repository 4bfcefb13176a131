import type { Worker } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import type { ChecksumId } from './constants';
import { cancelFollower, followState, publishLanded, wantsFollower } from './hash-follower';
import type { SendJob } from './jobs';
import type { SendCommand, SendEvent } from './sendfile-loop';
import { giveBackSenderThread, takeSenderThread } from './sender-threads';
import { startWorker } from './start-worker';

/**
 * The main thread's handle on the sendfile worker threads of one push.
 * Slot i (receiver i) goes to thread i mod threads. Its sender threads come
 * from sender-threads.ts and go back there at close(); each
 * slot's socket dup is owned by its thread from add() on.
 */
export class SendfilePool {
  readonly #workers: Worker[] = [];
  /** Per thread: removes this push's listeners before the thread is given back. */
  readonly #detach: Array<() => void> = [];
  readonly #waiters = new Map<number, (e: SendEvent) => void>();
  #crash: Error | undefined;
  #hasher: Worker | undefined;
  #followState: SharedArrayBuffer | undefined;
  /** The file's checksum, computed by thread 0 between sends; null if the file ended early. */
  readonly digest: Promise<Buffer | null>;

  constructor(
    job: { fileFd: number; size: number; progress: SharedArrayBuffer; chunk: number; idleTimeoutMs: number; checksum: ChecksumId },
    threads: number,
  ) {
    let setDigest: (d: Buffer | null) => void = () => undefined;
    let failDigest: (err: Error) => void = () => undefined;
    this.digest = new Promise((resolve, reject) => {
      setDigest = resolve;
      failDigest = reject;
    });
    this.digest.catch(() => undefined); // observed by each receiver's task
    const { checksum, ...rest } = job;
    // Big files hashed with sha256 get a hashing thread of their own (a
    // second core); otherwise the sendfile loop hashes, see wantsFollower.
    const follow = wantsFollower(job.size, checksum);
    if (follow) {
      const state = followState();
      this.#followState = state;
      publishLanded(state, job.size);
      const h = startWorker({ op: 'hash', fd: sys.dup(job.fileFd), size: job.size, checksum, state });
      this.#hasher = h;
      h.once('message', (m: { digest: string | null }) => setDigest(m.digest === null ? null : Buffer.from(m.digest, 'hex')));
      h.once('error', (err) => failDigest(err));
    }
    for (let t = 0; t < threads; t++) {
      const w = takeSenderThread();
      const onMessage = (e: SendEvent) => {
        if (e.type === 'digest') {
          setDigest(e.digest === null ? null : Buffer.from(e.digest, 'hex'));
          return;
        }
        const waiter = this.#waiters.get(e.slot);
        this.#waiters.delete(e.slot);
        waiter?.(e);
      };
      const onError = (err: Error) => {
        this.#crash ??= err;
        if (t === 0) failDigest(err);
        for (const [slot, waiter] of this.#waiters) {
          if (slot % this.#workers.length === t) waiter({ type: 'failed', slot, code: 'ERR_RMMAP_PUSH_INTERNAL', message: `the sendfile thread failed: ${err.message}` });
        }
      };
      w.on('message', onMessage);
      w.on('error', onError);
      this.#detach.push(() => {
        w.off('message', onMessage);
        w.off('error', onError);
      });
      w.postMessage({ op: 'send', ...rest, ...(t === 0 && !follow ? { checksum } : {}) } satisfies SendJob);
      this.#workers.push(w);
    }
  }

  #worker(slot: number): Worker {
    return this.#workers[slot % this.#workers.length] as Worker;
  }

  /** Hands `fd` (a dup the pool now owns) to a thread; resolves when all bytes are sent or the slot failed. */
  send(slot: number, fd: number): Promise<SendEvent> {
    if (this.#crash !== undefined) {
      return Promise.resolve({ type: 'failed', slot, code: 'ERR_RMMAP_PUSH_INTERNAL', message: `the sendfile thread failed: ${this.#crash.message}` });
    }
    const done = new Promise<SendEvent>((resolve) => this.#waiters.set(slot, resolve));
    this.#worker(slot).postMessage({ type: 'add', slot, fd } satisfies SendCommand);
    return done;
  }

  /** Stops sending to a slot; its thread closes the fd. */
  abort(slot: number): void {
    this.#waiters.delete(slot);
    this.#worker(slot).postMessage({ type: 'abort', slot } satisfies SendCommand);
  }

  /** Lets every thread close the fds it still holds, then hands the threads back (or ends them). */
  async close(): Promise<void> {
    // Per thread: whether it answered 'closed' (and so is free for the next push).
    const closed = await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<boolean>((resolve) => {
            if (this.#crash !== undefined) return resolve(false);
            const settle = (ok: boolean) => {
              w.off('message', onMessage);
              w.off('error', onGone);
              w.off('exit', onGone);
              resolve(ok);
            };
            const onMessage = (e: SendEvent) => {
              if (e.type === 'closed') settle(true);
            };
            const onGone = () => settle(false);
            w.on('message', onMessage);
            w.once('error', onGone);
            w.once('exit', onGone);
            w.postMessage({ type: 'close' } satisfies SendCommand);
          }),
      ),
    );
    // terminate() would skip the hashing thread's `finally` that closes its
    // dup of the file: ask it to stop and let it answer first.
    if (this.#followState !== undefined) {
      cancelFollower(this.#followState);
      await this.digest.catch(() => null);
    }
    // A sender thread that answered 'closed' holds nothing of this push and
    // serves the next one; one that crashed is ended.
    const ending: Array<Promise<number>> = [];
    this.#workers.forEach((w, t) => {
      this.#detach[t]?.();
      if (closed[t] === true && this.#crash === undefined) giveBackSenderThread(w);
      else ending.push(w.terminate());
    });
    if (this.#hasher !== undefined) ending.push(this.#hasher.terminate());
    await Promise.all(ending);
  }
}
