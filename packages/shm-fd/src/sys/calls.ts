import fs from 'node:fs';

import { ShmArgumentError, SystemError } from '../errors';
import * as C from './constants';
import { libc, type Ret } from './libc';

/** Throws a Node-shaped SystemError when a raw call failed; returns its value otherwise. */
export function check(r: Ret, syscall: string, context: string, path?: string): number {
  if (r.value === -1 && r.errno !== 0) throw new SystemError(r.errno, syscall, context, path);
  return r.value;
}

let pageSizeCache = 0;
/** The system page size in bytes. */
export function pageSize(): number {
  if (pageSizeCache === 0) pageSizeCache = check(libc().sysconf(C._SC_PAGESIZE), 'sysconf', 'reading the page size');
  return pageSizeCache;
}

/** Creates an anonymous memory file; the caller owns the returned fd. */
export function memfdCreate(name: string, flags = C.MFD_CLOEXEC | C.MFD_ALLOW_SEALING): number {
  if (Buffer.byteLength(name) > 249) throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `memfd name is longer than 249 bytes: ${name}`);
  if (name.includes('\0') || name.includes('/')) {
    throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `memfd name must not contain '/' or NUL: ${JSON.stringify(name)}`);
  }
  return check(libc().memfd_create(name, flags), 'memfd_create', `creating memory file "${name}"`);
}

export function fcntl(fd: number, cmd: number, arg = 0): number {
  return check(libc().fcntl(fd, cmd, arg), 'fcntl', `fcntl(${fd}, ${cmd})`);
}

/** The seals of a memfd or tmpfs file; throws EINVAL for files that cannot carry seals. */
export function getSeals(fd: number): number {
  return check(libc().fcntl(fd, C.F_GET_SEALS, 0), 'fcntl', `reading the seals of fd ${fd}`);
}

export function addSeals(fd: number, seals: number): void {
  check(libc().fcntl(fd, C.F_ADD_SEALS, seals), 'fcntl', `adding seals 0x${seals.toString(16)} to fd ${fd}`);
}

/**
 * Fixes a memfd's size for good (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
 * before it is handed to a peer: a peer that could shrink it would make our
 * next access to the mapping a SIGBUS.
 */
export function sealSize(fd: number): void {
  addSeals(fd, C.F_SEAL_SHRINK | C.F_SEAL_GROW | C.F_SEAL_SEAL);
}

export function setCloexec(fd: number, on: boolean): void {
  const flags = fcntl(fd, C.F_GETFD);
  fcntl(fd, C.F_SETFD, on ? flags | C.FD_CLOEXEC : flags & ~C.FD_CLOEXEC);
}

export function isCloexec(fd: number): boolean {
  return (fcntl(fd, C.F_GETFD) & C.FD_CLOEXEC) !== 0;
}

export function ftruncate(fd: number, length: number): void {
  check(libc().ftruncate(fd, length), 'ftruncate', `resizing fd ${fd} to ${length} bytes`);
}

/** Reserves backing store so later writes cannot fail with ENOSPC / SIGBUS. */
export function fallocate(fd: number, offset: number, length: number): void {
  check(libc().posix_fallocate(fd, offset, length), 'posix_fallocate', `reserving ${length} bytes at ${offset} of fd ${fd}`);
}

export function fstat(fd: number): fs.Stats {
  return fs.fstatSync(fd);
}

export function shmOpen(name: string, flags: number, mode = 0o600): number {
  validateShmName(name);
  return check(libc().shm_open(name, flags | C.O_CLOEXEC, mode), 'shm_open', `opening POSIX shared memory`, name);
}

export function shmUnlink(name: string): void {
  validateShmName(name);
  check(libc().shm_unlink(name), 'shm_unlink', 'removing POSIX shared memory', name);
}

/** NAME_MAX: bytes in one path component, the leading slash of a shm name included. */
const SHM_NAME_MAX = 255;

/**
 * True for a valid POSIX shm name: "/name", one leading slash and no other,
 * no NUL, not "/." or "/..", at most NAME_MAX (255) bytes in UTF-8 with
 * the slash (glibc's shm_open counts bytes, not characters).
 */
export function isValidShmName(name: string): boolean {
  return /^\/[^/\0]+$/.test(name) && name !== '/.' && name !== '/..' && Buffer.byteLength(name) <= SHM_NAME_MAX;
}

/** Throws ERR_INVALID_ARG_VALUE unless isValidShmName(name). */
export function validateShmName(name: string): void {
  if (!isValidShmName(name)) {
    throw new ShmArgumentError(
      'ERR_INVALID_ARG_VALUE',
      `invalid POSIX shared memory name ${JSON.stringify(name)}: use "/name" with one leading slash and no other`,
    );
  }
}

export function open(path: string, flags: number, mode = 0o600): number {
  return check(libc().open(path, flags | C.O_CLOEXEC, mode), 'open', 'opening file', path);
}

export function close(fd: number): void {
  check(libc().close(fd), 'close', `closing fd ${fd}`);
}

/** Duplicates `fd` to the lowest free number; the copy is close-on-exec. */
export function dup(fd: number): number {
  return check(libc().fcntl(fd, C.F_DUPFD_CLOEXEC, 0), 'fcntl', `duplicating fd ${fd}`);
}

/** Duplicates `fd` onto `to` (closing what was there). */
export function dup2(fd: number, to: number, cloexec = false): number {
  if (fd === to) {
    setCloexec(fd, cloexec);
    return to;
  }
  return check(libc().dup3(fd, to, cloexec ? C.O_CLOEXEC : 0), 'dup3', `duplicating fd ${fd} onto ${to}`);
}

const EWOULDBLOCK = 11;

/**
 * An exclusive flock(2) on `fd`, without waiting: false when another open
 * file description holds it. The kernel drops it when the last fd of this
 * description closes (a kill -9 leaves no stale lock). glibc's wrapper is
 * not in the Libc interface, so this goes through syscall(2).
 */
export function tryLockExclusive(fd: number): boolean {
  const r = libc().syscall6(C.SYS.flock, fd, C.LOCK_EX | C.LOCK_NB, 0, 0, 0, 0);
  if (r.value === 0) return true;
  if (r.errno === EWOULDBLOCK) return false;
  check(r, 'flock', `locking fd ${fd}`);
  return false;
}

export function eventfd(initial = 0, flags = C.EFD_CLOEXEC): number {
  return check(libc().eventfd(initial, flags), 'eventfd', 'creating an eventfd');
}

export function schedYield(): void {
  libc().sched_yield();
}

export function getpid(): number {
  return libc().getpid().value;
}

/**
 * The kernel thread id of the calling thread (the pid on the main thread).
 * glibc's gettid() wrapper is recent and not in the Libc interface, so this
 * goes through syscall(2).
 */
export function gettid(): number {
  return check(libc().syscall6(C.SYS.gettid, 0, 0, 0, 0, 0, 0), 'gettid', 'reading the thread id');
}

/** True when a process with this pid exists (it may belong to another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
