import fs from 'node:fs';
import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { BellWriters } from './bell-writers';
import { debug } from './diagnostics';

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
    this.#socket = new net.Socket({ fd: r, readable: true, writable: false });
    this.#socket.on('data', () => this.#ringing());
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

  #ringing(): void {
    // Everyone re-checks: one pipe serves every Notifier of this realm, and a
    // spurious re-check is cheap (a few shared-memory loads).
    for (const s of [...this.#services]) s();
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

export type RingResult = 'rung' | 'gone' | 'denied';

const writers = new BellWriters();
let warnedDenied = false;

/**
 * Rings the doorbell published as (pid, fd, ino). All three come from shared
 * memory a peer can write: the path is only opened when it names a pipe with
 * that inode, so a forged address cannot make us write into a file, socket or
 * terminal another process has open.
 */
export function ring(pid: number, fd: number, ino: number): RingResult {
  const own = Doorbell.existing();
  if (own !== undefined && pid === own.pid && fd === own.fd && ino === own.ino) {
    own.ringSelf();
    return 'rung';
  }
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(fd) || fd < 0) return 'gone';
  const key = `${pid}:${fd}:${ino}`;
  let w = writers.get(key);
  if (w === undefined) {
    const path = `/proc/${pid}/fd/${fd}`;
    try {
      const target = fs.statSync(path);
      if (!target.isFIFO() || target.ino !== ino) return 'gone';
      w = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        if (!warnedDenied) {
          warnedDenied = true;
          process.emitWarning(
            `cannot ring the shm-state doorbell of pid ${pid} (${code}): async waiters there will not wake; run cooperating processes as the same user`,
            { code: 'SHMKIT_DOORBELL' },
          );
        }
        return 'denied';
      }
      return 'gone';
    }
    // Checked again on the open file: the fd number may have been reused in between.
    const opened = fs.fstatSync(w);
    if (!opened.isFIFO() || opened.ino !== ino) {
      fs.closeSync(w);
      return 'gone';
    }
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
