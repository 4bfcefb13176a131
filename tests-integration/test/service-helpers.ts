// Pieces of the daemon-as-a-service tests: a fake service manager (the
// NOTIFY_SOCKET datagram socket systemd would own) and a free TCP port.
import net from 'node:net';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { until } from './helpers/proc';

/**
 * A bound Unix datagram socket collecting sd_notify messages. Like a real
 * manager it reads all the time (a timer drains it), so its small queue
 * never fills while the test waits on something else.
 */
export class FakeManager {
  readonly path: string;
  readonly #fd: number;
  readonly #drain: NodeJS.Timeout;
  readonly messages: string[] = [];

  constructor(dir: string) {
    this.path = path.join(dir, 'notify.sock');
    this.#fd = sys.unixSocket('dgram', true);
    sys.bindUnix(this.#fd, this.path);
    this.#drain = setInterval(() => this.read(), 10);
  }

  /** Every message received so far, in order. */
  read(): string[] {
    for (;;) {
      const r = sys.recvWithFds(this.#fd, { nonblocking: true });
      if (r === null) return this.messages;
      for (const fd of r.fds) sys.close(fd);
      this.messages.push(r.data.toString());
    }
  }

  /** Waits until a message matches; resolves with its index. */
  async waitFor(pattern: RegExp, timeoutMs = 20000): Promise<number> {
    let at = -1;
    await until(
      () => {
        at = this.read().findIndex((m) => pattern.test(m));
        return at >= 0;
      },
      timeoutMs,
      `a notify message matching ${String(pattern)} (got ${JSON.stringify(this.messages)})`,
    );
    return at;
  }

  close(): void {
    clearInterval(this.#drain);
    sys.close(this.#fd);
  }
}

/** A TCP port free a moment ago on 127.0.0.1 (for tools that need a number up front). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Lines of a log, each parsed as JSON (throws on the first that is not). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
