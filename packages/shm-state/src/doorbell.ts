import fs from 'node:fs';
import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { BellWriters } from './bell-writers';
import { debug } from './diagnostics';
import { openPeerBell, type PeerBellRefusal } from './peer-bell';

/**
 * The process's doorbell: a pipe whose read end the event loop watches.
 *
 * Another process rings it by opening `/proc/<pid>/fd/<fd>` for writing
 * (which reopens the same pipe) and writing one byte. Async waiters
 * (`await q.pop()`) sleep on it without blocking the event loop and without
 * parking a libuv threadpool thread. The address a waker needs — pid, fd and
 * the pipe's inode — is published in shared memory by `Notifier`; the inode
 * is checked after opening so a recycled pid or fd number is never written to.
 *
 * One doorbell per JavaScript realm (each worker thread has its own). It is
 * never closed: it lives as long as the realm and keeps the loop alive only
 * while someone waits on it.
 */
export class Doorbell {
  readonly pid: number;
  readonly fd: number;
  readonly ino: number;
  readonly #writeFd: number;
  readonly #socket: net.Socket;
  readonly #services = new Set<() => void>();

  private constructor() {
    const [r, w] = sys.pipe(true);
    this.pid = process.pid;
    this.fd = r;
    this.#writeFd = w;
    this.ino = fs.fstatSync(r).ino;
    // Rings are read into one reused buffer and handed straight to us,
    // without a Buffer and a stream 'data' event per wakeup (net.Socket's
    // constructor takes `onread` as connect() does; the types omit it).
    const onread: net.OnReadOpts = { buffer: Buffer.alloc(64), callback: this.#onRead };
    this.#socket = new net.Socket({ fd: r, readable: true, writable: false, onread } as net.SocketConstructorOpts);
    this.#socket.on('error', (err) => debug('doorbell read failed: %s', err.message));
    this.#socket.unref();
  }

  static #shared: Doorbell | undefined;

  /** This realm's doorbell if one was created. */
  static existing(): Doorbell | undefined {
    return Doorbell.#shared;
  }

  /** This realm's doorbell, created on first use. */
  static shared(): Doorbell {
    return (Doorbell.#shared ??= new Doorbell());
  }

  /** Runs `service` every time the doorbell rings, until removed. */
  add(service: () => void): void {
    if (this.#services.size === 0) this.#socket.ref();
    this.#services.add(service);
  }

  delete(service: () => void): void {
    if (this.#services.delete(service) && this.#services.size === 0) this.#socket.unref();
  }

  /** Rings this doorbell from this process (no /proc round trip). */
  ringSelf(): void {
    writeByte(this.#writeFd);
  }

  readonly #onRead = (): boolean => {
    this.#ringing();
    return true; // keep reading
  };

  #ringing(): void {
    // Everyone re-checks: one pipe serves every Notifier of this realm, and a
    // spurious re-check is cheap (a few shared-memory loads). A Set visits
    // each entry once even as services delete themselves.
    for (const s of this.#services) s();
  }
}

const ONE = Buffer.from([1]);

/** false when the pipe is full: a wakeup is pending anyway. */
function writeByte(fd: number): boolean {
  try {
    fs.writeSync(fd, ONE);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return true;
    throw err;
  }
}

/**
 * 'rung'; 'gone' (no such pipe any more); 'denied' (the kernel refused to open
 * it); 'refused' (the process runs under another uid, or `allowPeer` said no).
 */
export type RingResult = 'rung' | 'gone' | 'denied' | 'refused';

/** Which processes' doorbells a waker may ring (besides its own process's, always allowed). */
export type AllowPeer = (pid: number) => boolean;

const writers = new BellWriters();
let warnedDenied = false;
let warnedOtherUser = false;

/**
 * Rings the doorbell published as (pid, fd, ino). All three come from shared
 * memory a peer can write, so a forged address must not reach anything but a
 * doorbell of a process we may wake: `allowPeer` (when given) is asked on
 * every ring, and a new address is only opened when it names a pipe with
 * that inode in a process of our own uid (see openPeerBell). Opened writers
 * are cached per address.
 */
export function ring(pid: number, fd: number, ino: number, allowPeer?: AllowPeer): RingResult {
  const own = Doorbell.existing();
  if (own !== undefined && pid === own.pid && fd === own.fd && ino === (own.ino | 0)) {
    own.ringSelf();
    return 'rung';
  }
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(fd) || fd < 0) return 'gone';
  if (allowPeer !== undefined && pid !== process.pid && !allowPeer(pid)) return 'refused';
  const key = writers.keyOf(pid, fd, ino);
  let w = writers.get(key);
  if (w === undefined) {
    const opened = openPeerBell(pid, fd, ino);
    if (typeof opened !== 'number') {
      warnOnce(opened, pid);
      return opened;
    }
    w = opened;
    writers.add(key, w);
  }
  try {
    writeByte(w);
    return 'rung';
  } catch {
    // EPIPE: the reader is gone (Node ignores SIGPIPE).
    writers.delete(key);
    return 'gone';
  }
}

function warnOnce(why: PeerBellRefusal, pid: number): void {
  if (why === 'denied' && !warnedDenied) {
    warnedDenied = true;
    process.emitWarning(
      `cannot ring the shm-state doorbell of pid ${pid} (permission denied): async waiters there will not wake; run cooperating processes as the same user`,
      { code: 'SHMKIT_DOORBELL' },
    );
  } else if (why === 'refused' && !warnedOtherUser) {
    warnedOtherUser = true;
    process.emitWarning(
      `not ringing the shm-state doorbell of pid ${pid}: it runs under another uid; its async waiters only notice changes within 500 ms; run cooperating processes as the same user`,
      { code: 'SHMKIT_DOORBELL' },
    );
  }
}
