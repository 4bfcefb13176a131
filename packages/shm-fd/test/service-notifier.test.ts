import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ServiceNotifier, watchdogInterval } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

/** A fake service manager: a bound Unix datagram socket, read without blocking. */
class FakeManager {
  readonly path: string;
  readonly fd: number;
  readonly messages: string[] = [];

  constructor(dir: string) {
    this.path = path.join(dir, `notify-${Math.random().toString(36).slice(2)}`);
    this.fd = sys.unixSocket('dgram', true);
    sys.bindUnix(this.fd, this.path);
  }

  drain(): string[] {
    for (;;) {
      const r = sys.recvWithFds(this.fd, { nonblocking: true });
      if (r === null) return this.messages;
      this.messages.push(r.data.toString());
    }
  }

  close(): void {
    sys.close(this.fd);
  }
}

describe('ServiceNotifier', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notifier-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('does nothing without NOTIFY_SOCKET', () => {
    const n = new ServiceNotifier({ env: { WATCHDOG_USEC: '1000' } });
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeUndefined();
    n.ready('x');
    n.status('y');
    n.stopping();
    n.close();
  });

  it('sends READY=1 once, STATUS= only when it changes and at most once per interval (the latest wins), then STOPPING=1', async () => {
    const m = new FakeManager(dir);
    const n = new ServiceNotifier({ env: { NOTIFY_SOCKET: m.path }, statusIntervalMs: 200 });
    try {
      n.ready('starting');
      n.ready('again');
      n.status('starting');
      n.status('one client');
      n.status('two clients');
      expect(m.drain()).toEqual(['READY=1\nSTATUS=starting']);
      await sleep(400);
      expect(m.drain()).toEqual(['READY=1\nSTATUS=starting', 'STATUS=two clients']);
      n.status('two clients');
      n.status('a\nb');
      await sleep(400);
      n.stopping('draining');
      expect(m.drain()).toEqual(['READY=1\nSTATUS=starting', 'STATUS=two clients', 'STATUS=a b', 'STOPPING=1\nSTATUS=draining']);
    } finally {
      n.close();
      m.close();
    }
  });

  it('sends WATCHDOG=1 at half of WATCHDOG_USEC until stopping', async () => {
    const m = new FakeManager(dir);
    const n = new ServiceNotifier({ env: { NOTIFY_SOCKET: m.path, WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) } });
    try {
      expect(n.watchdogIntervalMs).toBe(100);
      await sleep(1050);
      const count = m.drain().filter((s) => s === 'WATCHDOG=1').length;
      // About 10; a loaded machine delays timers, never adds them.
      expect(count).toBeGreaterThanOrEqual(3);
      expect(count).toBeLessThanOrEqual(11);
      n.stopping();
      const after = m.drain().length;
      await sleep(300);
      expect(m.drain().length).toBe(after);
    } finally {
      n.close();
      m.close();
    }
  });

  it('reads WATCHDOG_USEC and WATCHDOG_PID like sd_watchdog_enabled', () => {
    expect(watchdogInterval({}, 5)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' }, 5)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: 'x' }, 5)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 5)).toBe(15_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '6' }, 5)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '5' }, 5)).toBe(15_000);
  });

  it('never blocks the event loop when the manager stops reading: keep-alives past a full queue fail with EAGAIN', async () => {
    const m = new FakeManager(dir);
    const errors: Error[] = [];
    const n = new ServiceNotifier({ env: { NOTIFY_SOCKET: m.path, WATCHDOG_USEC: '2000' }, onError: (e) => errors.push(e) });
    try {
      // One keep-alive a millisecond; the socket queue holds a few (net.unix.max_dgram_qlen), then sends would block.
      await sleep(500);
      expect(errors.some((e) => (e as { code?: string }).code === 'EAGAIN')).toBe(true);
      expect(m.drain().length).toBeGreaterThan(0);
    } finally {
      n.close();
      m.close();
    }
  });

  it('reports a failed timer send to onError instead of throwing', async () => {
    const errors: Error[] = [];
    const n = new ServiceNotifier({ env: { NOTIFY_SOCKET: path.join(dir, 'nobody-listens'), WATCHDOG_USEC: '100000' }, onError: (e) => errors.push(e) });
    await sleep(200);
    n.close();
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as { code?: string }).code).toBe('ENOENT');
  });
});
