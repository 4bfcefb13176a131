import fs from 'node:fs';

import { check, fcntl } from './calls';
import * as C from './constants';
import { libc } from './libc';
import { getScratch } from './scratch';

/*
 * Locks and leases through fcntl(2) that Node does not offer. Both belong to
 * the open file description, so the kernel drops them when its last fd
 * closes, however the process ends: no stale lock survives a kill -9.
 */

const EAGAIN = 11;
const EACCES = 13;

/** Where the struct flock is built in the scratch page (used synchronously, so any offset is free). */
const FLOCK_AT = 0;

/**
 * An exclusive open-file-description lock (F_OFD_SETLK) on the whole of
 * `fd`'s file, without waiting: false when another open file description
 * holds a conflicting lock. Unlike flock(2) it also works over NFS; unlike
 * a POSIX record lock, closing another fd of the same file in this
 * process does not drop it.
 */
export function tryLockOfd(fd: number): boolean {
  const s = getScratch();
  // struct flock (x86_64 / aarch64): l_type, l_whence (shorts), l_start,
  // l_len (off_t), l_pid (must be 0 for OFD locks). Zero length = the whole file.
  s.buf.fill(0, FLOCK_AT, FLOCK_AT + 32);
  s.buf.writeInt16LE(C.F_WRLCK, FLOCK_AT);
  const r = libc().fcntl(fd, C.F_OFD_SETLK, s.addr + FLOCK_AT);
  if (r.value !== -1) return true;
  if (r.errno === EAGAIN || r.errno === EACCES) return false;
  check(r, 'fcntl', `locking fd ${fd} (F_OFD_SETLK)`);
  return false;
}

/**
 * Takes (`'read'`, `'write'`) or drops (`'none'`) a lease on `fd`'s file.
 * The kernel grants a write lease only while no other open file
 * description or mapping refers to the file (EAGAIN otherwise); file
 * systems without leases answer EINVAL. Throws a SystemError either way.
 */
export function setLease(fd: number, type: 'read' | 'write' | 'none'): void {
  fcntl(fd, C.F_SETLEASE, type === 'write' ? C.F_WRLCK : type === 'read' ? C.F_RDLCK : C.F_UNLCK);
}

/**
 * True when `fd` is the only way to its file right now: one link, and a
 * write lease is granted (taken and dropped at once). False when the file
 * has other names, is open or mapped elsewhere, or its file system has no
 * leases.
 */
export function isSoleUser(fd: number): boolean {
  if (fs.fstatSync(fd).nlink !== 1) return false;
  try {
    setLease(fd, 'write');
  } catch {
    return false; // EAGAIN: in use; EINVAL: no leases on this file system
  }
  setLease(fd, 'none');
  return true;
}
