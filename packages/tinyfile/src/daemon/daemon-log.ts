import { LogLimiter } from '@shmkit/shm-fd';

/** tinyd's log. Lines a client can cause go through limited(): one per key per second. */
export class DaemonLog {
  readonly #write: (line: string) => void;
  readonly #limiter = new LogLimiter();

  constructor(write: (line: string) => void) {
    this.#write = write;
  }

  /** A line only the daemon itself causes (start, shutdown). */
  line(line: string): void {
    this.#write(line);
  }

  /**
   * Writes a line a client can cause at most once per second per `key`
   * (see LogLimiter), with the count of lines held back since the last one.
   */
  limited(key: string, line: string): void {
    const d = this.#limiter.allow(key);
    if (d.log) this.#write(d.dropped > 0 ? `${line} (${d.dropped} similar suppressed)` : line);
  }
}
