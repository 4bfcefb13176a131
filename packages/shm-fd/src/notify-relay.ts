import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { UsageError } from '@shmkit/kit/cli';

import { ShmArgumentError } from './errors';
import { LogLimiter } from './log-limiter';
import { sdNotify } from './sd-notify';
import { bindUnix, close, ensurePrivateDir, runtimeDir, sendWithFds, unixSocket } from './sys';

/**
 * How a wrapper (`shm-fd run`, `shm-restore`) treats its child's sd_notify
 * messages: `relay` gives the child a socket of the wrapper's own and sends
 * what it hears on from the wrapper, the service's main process, so a unit
 * works with `NotifyAccess=main`; `pass` hands the child the manager's
 * NOTIFY_SOCKET itself (the unit then needs `NotifyAccess=all`).
 */
export type NotifyMode = 'relay' | 'pass';
export const NOTIFY_MODES: readonly NotifyMode[] = ['relay', 'pass'];

/** A wrapper's `--notify relay|pass` option; relay when absent. */
export function notifyOption(value: string | undefined): NotifyMode {
  if (value === undefined) return 'relay';
  if (!(NOTIFY_MODES as readonly string[]).includes(value)) throw new UsageError(`--notify: ${JSON.stringify(value)} is neither 'relay' nor 'pass'`);
  return value as NotifyMode;
}

/** The largest message relayed; systemd itself reads at most a page. */
export const MAX_NOTIFY_BYTES = 4096;
/** Messages relayed per second at most; the rest are dropped. */
export const MAX_NOTIFY_PER_SECOND = 100;

// What a service may say about itself. Everything else is dropped: MAINPID=
// would hand the service to another process, FDSTORE=/FDNAME=/FDPOLL= and
// FDSTOREREMOVE= act on the fd store, which the wrapper owns (the fds the
// child attaches are never received, see below), NOTIFYACCESS= would change
// who the manager listens to, BARRIER= needs its fd.
const RELAYED = new Set(['READY', 'RELOADING', 'STOPPING', 'STATUS', 'ERRNO', 'BUSERROR', 'EXIT_STATUS', 'MONOTONIC_USEC', 'WATCHDOG', 'WATCHDOG_USEC', 'EXTEND_TIMEOUT_USEC']);

/** The lines of `message` a wrapper sends on, and the keys it drops. */
export function filterNotifyMessage(message: string): { relayed: string; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const line of message.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq) : line;
    if (eq > 0 && RELAYED.has(key)) kept.push(line);
    else dropped.push(key.length > 32 ? `${key.slice(0, 32)}…` : key);
  }
  return { relayed: kept.join('\n'), dropped };
}

export interface NotifyRelayOptions {
  /** Environment to read NOTIFY_SOCKET from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Hears what was dropped or could not be sent, at most a line per reason a second. */
  log?: (msg: string) => void;
}

/**
 * A private notify socket for a wrapper's child. It is a Unix datagram
 * socket bound in the user's 0700 runtime directory (only our uid can
 * reach it), and it is read by a blocking read(2) that Node runs on a
 * libuv worker thread: Node has no Unix datagram sockets and libuv will not
 * watch one, and a parked read costs no CPU and no timer wake-ups while the
 * child is quiet (a poll timer would). read(2) takes one datagram, cut at
 * the buffer's size, and the kernel closes any fds attached to it, so a
 * child can make us hold neither fds nor more than one buffer.
 */
export class NotifyRelay {
  /** The address the child gets as NOTIFY_SOCKET. */
  readonly address: string;
  readonly #target: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #fd: number;
  readonly #buf = Buffer.alloc(MAX_NOTIFY_BYTES + 1);
  readonly #log: (msg: string) => void;
  readonly #limiter = new LogLimiter();
  #windowStart = 0;
  #windowCount = 0;
  #closing = false;
  #woken = false;
  // Once closing, messages already queued are still relayed, up to this many.
  #drainLeft = 64;
  #released = false;

  /**
   * Starts relaying when NOTIFY_SOCKET is set; returns null when it is
   * unset (no manager listens, the child gets no NOTIFY_SOCKET either).
   */
  static open(options: NotifyRelayOptions = {}): NotifyRelay | null {
    const target = (options.env ?? process.env)['NOTIFY_SOCKET'];
    if (target === undefined || target === '') return null;
    return new NotifyRelay(target, options);
  }

  private constructor(target: string, options: NotifyRelayOptions) {
    if (!target.startsWith('/') && !target.startsWith('@')) {
      throw new ShmArgumentError('ERR_SHM_NOTIFY_SOCKET', `NOTIFY_SOCKET=${JSON.stringify(target)} must be an absolute path or @abstract name`);
    }
    this.#target = target;
    this.#env = options.env ?? process.env;
    this.#log = options.log ?? (() => undefined);
    const dir = runtimeDir('shm-fd', this.#env);
    ensurePrivateDir(dir);
    this.address = path.join(dir, `notify-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    this.#fd = unixSocket('dgram');
    try {
      bindUnix(this.#fd, this.address);
    } catch (err) {
      close(this.#fd);
      throw err;
    }
    this.#read();
  }

  /** The child's environment: NOTIFY_SOCKET pointing at the relay. */
  childEnv(): Record<string, string> {
    return { NOTIFY_SOCKET: this.address };
  }

  /**
   * Variables the child gets its own pid in (ChildSpec.pidVars): the
   * manager named the wrapper in WATCHDOG_PID, but it is the child whose
   * WATCHDOG=1 the wrapper relays, and libsystemd's sd_watchdog_enabled()
   * only answers yes in the process WATCHDOG_PID names.
   */
  childPidVars(): string[] {
    const watchdogPid = this.#env['WATCHDOG_PID'];
    const forUs = watchdogPid === undefined || watchdogPid === '' || watchdogPid === String(process.pid);
    return (this.#env['WATCHDOG_USEC'] ?? '') !== '' && forUs ? ['WATCHDOG_PID'] : [];
  }

  #note(key: string, msg: string): void {
    const d = this.#limiter.allow(key);
    if (d.log) this.#log(d.dropped > 0 ? `${msg} (${d.dropped} similar suppressed)` : msg);
  }

  #read(): void {
    fs.read(this.#fd, this.#buf, 0, this.#buf.length, null, (err, n) => {
      if (err !== null) {
        if (!this.#closing) this.#note('read', `cannot read the child's notify socket: ${err.message}; its messages are no longer relayed`);
        return this.#release();
      }
      // The empty datagram close() sends ends the loop.
      if (this.#closing && (n === 0 || --this.#drainLeft <= 0)) return this.#release();
      if (this.#closing && !this.#woken) this.#woken = this.#wake();
      this.#relay(n);
      this.#read();
    });
  }

  #relay(n: number): void {
    if (n === 0) return;
    if (n > MAX_NOTIFY_BYTES) return this.#note('size', `dropped a notify message of more than ${MAX_NOTIFY_BYTES} bytes from the child`);
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (++this.#windowCount > MAX_NOTIFY_PER_SECOND) return this.#note('rate', `the child sends more than ${MAX_NOTIFY_PER_SECOND} notify messages a second; dropped the excess`);
    const data = this.#buf.subarray(0, n);
    if (data.includes(0)) return this.#note('nul', 'dropped a notify message with a NUL byte from the child');
    const { relayed, dropped } = filterNotifyMessage(data.toString('utf8'));
    for (const key of new Set(dropped)) {
      const why = key.startsWith('FD') ? 'the wrapper owns the fd store' : 'the wrapper is the main process';
      this.#note(`key ${key}`, `dropped ${key}= from the child's notify message: ${why}`);
    }
    if (relayed === '') return;
    try {
      // Non-blocking: a manager that stopped reading must not stall the wrapper.
      sdNotify(relayed, [], this.#target, { nonblocking: true });
    } catch (err) {
      this.#note('send', `cannot relay the child's notify message to ${this.#target}: ${(err as Error).message}`);
    }
  }

  /**
   * Stops relaying once what is queued has been sent on. The worker
   * thread's read is woken by an empty datagram to ourselves; the socket is
   * closed and removed when the read comes back with it.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#woken = this.#wake();
  }

  #wake(): boolean {
    const waker = unixSocket('dgram');
    try {
      sendWithFds(waker, Buffer.alloc(0), [], { to: this.address, nonblocking: true });
      return true;
    } catch {
      // The queue is full: each read makes room, and the next try follows it.
      return false;
    } finally {
      close(waker);
    }
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    close(this.#fd);
    fs.rmSync(this.address, { force: true });
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
