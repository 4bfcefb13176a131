import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

/** Backstop when every cached peer is alive: more distinct live sleepers than this reopen their /proc path. */
const MAX_WRITERS = 256;

/**
 * Open write ends of other processes' bell pipes, keyed by the address they
 * published (pid:fd:ino). A cached fd keeps that pipe alive, so a write to a
 * peer that died fails with EPIPE instead of reaching whoever reuses its pid.
 *
 * A peer that exits is dropped the next time a writer is added: one poll(2)
 * over the cached fds reports POLLERR for every pipe whose last reader is
 * gone. That asks the pipe itself, not the pid, so a recycled pid cannot
 * keep a dead peer's entry (or make a live one look dead); the cache stays
 * bounded by the peers still alive.
 */
export class BellWriters {
  readonly #fds = new Map<string, number>();
  // The last address looked up, so ringing the same peer again and again
  // (a queue's consumer) skips building its key.
  #lastPid = 0;
  #lastFd = -1;
  #lastIno = 0;
  #lastKey = '';

  get size(): number {
    return this.#fds.size;
  }

  /** The key of the address (pid, fd, ino). */
  keyOf(pid: number, fd: number, ino: number): string {
    if (pid !== this.#lastPid || fd !== this.#lastFd || ino !== this.#lastIno) {
      this.#lastPid = pid;
      this.#lastFd = fd;
      this.#lastIno = ino;
      this.#lastKey = `${pid}:${fd}:${ino}`;
    }
    return this.#lastKey;
  }

  get(key: string): number | undefined {
    return this.#fds.get(key);
  }

  /** Caches `fd` (which the cache now owns), first closing writers whose reader has gone. */
  add(key: string, fd: number): void {
    if (this.#fds.size > 0) this.sweep();
    if (this.#fds.size >= MAX_WRITERS) {
      const [oldKey] = this.#fds.keys();
      if (oldKey !== undefined) this.delete(oldKey);
    }
    this.#fds.set(key, fd);
  }

  delete(key: string): void {
    const fd = this.#fds.get(key);
    if (fd === undefined) return;
    this.#fds.delete(key);
    fs.closeSync(fd);
  }

  /** Closes every cached writer whose pipe has no reader left; returns how many. */
  sweep(): number {
    const entries = [...this.#fds];
    // events 0: POLLERR (no reader) and POLLNVAL are reported regardless.
    const revents = sys.poll(entries.map(([, fd]) => ({ fd, events: 0 })), 0);
    let closed = 0;
    entries.forEach(([key], i) => {
      const r = revents[i] ?? 0;
      if ((r & (sys.constants.POLLERR | sys.constants.POLLNVAL)) === 0) return;
      this.delete(key);
      closed++;
    });
    return closed;
  }
}
