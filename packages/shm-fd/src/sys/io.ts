import { check } from './calls';
import * as C from './constants';
import { libc } from './libc';
import { getScratch } from './scratch';

/**
 * sendfile(2): the kernel copies `count` bytes from file `inFd` at `offset`
 * to `outFd` (a socket or file). Returns bytes sent; 0 at end of file.
 * `null` when `outFd` is non-blocking and full (EAGAIN).
 */
export function sendfile(outFd: number, inFd: number, offset: number, count: number): number | null {
  const s = getScratch();
  s.buf.writeBigInt64LE(BigInt(offset), 0);
  const r = libc().sendfile(outFd, inFd, s.addr, count);
  if (r.value === -1 && r.errno === C.EAGAIN) return null;
  return check(r, 'sendfile', `sending ${count} bytes from fd ${inFd} to fd ${outFd}`);
}

/**
 * splice(2) between a pipe and another fd. Offsets apply to the non-pipe side
 * (pass -1 for "current position"). `null` on EAGAIN.
 */
export function splice(inFd: number, inOffset: number, outFd: number, outOffset: number, len: number, flags = C.SPLICE_F_MOVE): number | null {
  const s = getScratch();
  let inPtr = 0;
  let outPtr = 0;
  if (inOffset >= 0) {
    s.buf.writeBigInt64LE(BigInt(inOffset), 0);
    inPtr = s.addr;
  }
  if (outOffset >= 0) {
    s.buf.writeBigInt64LE(BigInt(outOffset), 8);
    outPtr = s.addr + 8;
  }
  const r = libc().splice(inFd, inPtr, outFd, outPtr, len, flags);
  if (r.value === -1 && r.errno === C.EAGAIN) return null;
  return check(r, 'splice', `moving ${len} bytes from fd ${inFd} to fd ${outFd}`);
}

/** A pipe whose ends are close-on-exec: [read, write]. */
export function pipe(nonblocking = false): [number, number] {
  const s = getScratch();
  check(libc().pipe2(s.addr, C.O_CLOEXEC | (nonblocking ? C.O_NONBLOCK : 0)), 'pipe2', 'creating a pipe');
  return [s.buf.readInt32LE(0), s.buf.readInt32LE(4)];
}

/**
 * Sets the capacity of the pipe behind `fd` to at least `bytes`
 * (F_SETPIPE_SZ) and returns the capacity the kernel chose. Unprivileged
 * processes are capped by /proc/sys/fs/pipe-max-size (EPERM above it).
 */
export function setPipeSize(fd: number, bytes: number): number {
  return check(libc().fcntl(fd, C.F_SETPIPE_SZ, bytes), 'fcntl', `setting the pipe capacity of fd ${fd} to ${bytes} bytes`);
}

/**
 * read(2) of up to `len` bytes into memory at `addr` (a mapping, or the
 * scratch page) on a non-blocking fd: the bytes read, 0 at end of file, or
 * `null` when nothing is there yet (EAGAIN) or a signal interrupted the call
 * (EINTR): wait for POLLIN and call again. Other failures throw SystemError.
 */
export function readAt(fd: number, addr: number, len: number): number | null {
  const r = libc().read(fd, addr, len);
  if (r.value === -1 && (r.errno === C.EAGAIN || r.errno === C.EINTR)) return null;
  return check(r, 'read', `reading ${len} bytes from fd ${fd}`);
}

/**
 * write(2) of up to `len` bytes from memory at `addr` on a non-blocking fd:
 * the bytes taken, or `null` when the fd is full (EAGAIN) or a signal
 * interrupted the call (EINTR): wait for POLLOUT and call again. Other
 * failures throw SystemError.
 */
export function writeAt(fd: number, addr: number, len: number): number | null {
  const r = libc().write(fd, addr, len);
  if (r.value === -1 && (r.errno === C.EAGAIN || r.errno === C.EINTR)) return null;
  return check(r, 'write', `writing ${len} bytes to fd ${fd}`);
}
