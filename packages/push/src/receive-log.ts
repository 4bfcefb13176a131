import { type LogFields, LogLimiter } from '@shmkit/shm-fd';

/**
 * The receiver's stderr log. A sender decides how often it connects, fails
 * or times out, so each client (its address, whatever port it comes from)
 * gets at most one line per kind per second; the lines held back are
 * counted on the next one of that kind.
 */
export class ReceiveLog {
  readonly #limiter = new LogLimiter({ intervalMs: 1000 });
  readonly #write: (line: string, fields: LogFields) => void;

  /** `write` gets the line and its fields (client, event, suppressed) for a structured log. */
  constructor(write: (line: string, fields: LogFields) => void) {
    this.#write = write;
  }

  /** `remote` is "ADDRESS:PORT" (Transfer.remote); `kind` e.g. an error code. */
  line(remote: string, kind: string, text: string, now = Date.now()): void {
    const decision = this.#limiter.allow(`${clientOf(remote)} ${kind}`, now);
    if (!decision.log) return;
    const fields: LogFields = { client: remote, event: kind, ...(decision.dropped > 0 ? { suppressed: decision.dropped } : {}) };
    this.#write(decision.dropped > 0 ? `${text} (${decision.dropped} similar suppressed)` : text, fields);
  }
}

/** The address part of "ADDRESS:PORT" (IPv6 addresses contain colons too). */
export function clientOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon < 0 ? remote : remote.slice(0, colon);
}
