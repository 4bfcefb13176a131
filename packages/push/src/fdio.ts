// Exact reads and writes on a non-blocking socket fd, waiting in poll(2).
// Used by the worker threads, which own a dup of the socket and may block.
import * as sys from '@shmkit/shm-fd/sys';

const C = sys.constants;
/** Scratch bytes past the pollfd array that poll() builds at offset 0. */
const IO_AT = 4096;
const IO_MAX = 32 * 1024;

export class FdTimeout extends Error {}
export class FdEof extends Error {}
export class FdStopped extends Error {}

/** Int32 word that the owner of this thread sets to non-zero to stop it. */
let stopWord: Int32Array | undefined;

/** Makes every wait in this thread give up (FdStopped) once `word[0]` is non-zero. */
export function watchStop(word: Int32Array): void {
  stopWord = word;
}

/** Throws FdStopped when the owner asked this thread to stop. */
export function checkStop(): void {
  // Set by another thread with Atomics.store; read the same way.
  if (stopWord !== undefined && Atomics.load(stopWord, 0) !== 0) throw new FdStopped('the receiver is shutting down');
}

/** Blocks until `fd` is ready for `events` or the deadline passes; returns revents. */
export function waitFd(fd: number, events: number, deadline: number): number {
  for (;;) {
    checkStop();
    const left = deadline - Date.now();
    if (left <= 0) throw new FdTimeout(`no progress on fd ${fd} before the deadline`);
    const [revents = 0] = sys.poll([{ fd, events }], Math.min(left, 1000));
    if (revents !== 0) return revents;
  }
}

/** Reads exactly n bytes (n ≤ 32 KiB). Throws FdEof if the peer closes first. */
export function readExact(fd: number, n: number, deadline: number): Buffer {
  if (n > IO_MAX) throw new RangeError(`readExact takes at most ${IO_MAX} bytes`);
  const out = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const s = sys.getScratch();
    const k = sys.readAt(fd, s.addr + IO_AT, n - got);
    if (k === null) {
      waitFd(fd, C.POLLIN, deadline);
      continue;
    }
    if (k === 0) throw new FdEof(`the peer closed the connection after ${got} of ${n} bytes`);
    s.buf.copy(out, got, IO_AT, IO_AT + k);
    got += k;
  }
  return out;
}

/** Writes all of `data` (≤ 32 KiB). */
export function writeAll(fd: number, data: Buffer, deadline: number): void {
  if (data.length > IO_MAX) throw new RangeError(`writeAll takes at most ${IO_MAX} bytes`);
  let at = 0;
  while (at < data.length) {
    const s = sys.getScratch();
    data.copy(s.buf, IO_AT, at);
    const k = sys.writeAt(fd, s.addr + IO_AT, data.length - at);
    if (k === null) {
      waitFd(fd, C.POLLOUT, deadline);
      continue;
    }
    at += k;
  }
}
