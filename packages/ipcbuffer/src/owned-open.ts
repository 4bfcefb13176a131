import fs from 'node:fs';

import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

/*
 * Opening the shared objects and files a buffer maps. /dev/shm and /tmp are
 * writable by every user, so what is already there is untrusted: a symlink
 * planted to redirect our writes, or a file another user made so that they
 * can read (or truncate) what we map. Existing objects are opened through
 * shm-fd's owned-path rules (no symlink, ours, nobody else can write them:
 * ERR_SHM_UNSAFE_PATH). New ones are created O_CREAT|O_EXCL, which never
 * follows a symlink and only succeeds for an entry this call made, then
 * given the same check; so when anything after the open fails, the entry is
 * known to be ours to remove.
 */

/**
 * fs errors carry a negative errno and no context of ours; as shm-fd
 * SystemErrors the callers' hints (withHint) apply to them.
 */
function asSystemError(err: unknown, context: string, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  // Not `instanceof Error`: fs errors come from another realm under test runners.
  if (typeof err === 'object' && err !== null && !(err instanceof SystemError) && typeof e.errno === 'number' && typeof e.syscall === 'string') {
    const s = new SystemError(Math.abs(e.errno), e.syscall, context, path);
    Object.defineProperty(s, 'cause', { value: err, enumerable: false, configurable: true });
    return s;
  }
  return err;
}

/** Checks a freshly created entry; on any failure closes it and removes it with `remove`. */
function checkCreated(fd: number, what: string, remove: () => void): number {
  try {
    sys.checkOwnedFd(fd, what, 'file');
    return fd;
  } catch (err) {
    sys.close(fd);
    try {
      remove();
    } catch {
      // The original error is the one to report.
    }
    throw err;
  }
}

/** Creates POSIX shm `name` with `mode`; throws SystemError EEXIST when anything has that name. */
export function createShm(name: string, mode: number): number {
  const C = sys.constants;
  // glibc's shm_open adds O_NOFOLLOW; O_EXCL alone already refuses an existing symlink.
  const fd = sys.shmOpen(name, C.O_RDWR | C.O_CREAT | C.O_EXCL, mode);
  return checkCreated(fd, `POSIX shared memory ${name}`, () => sys.shmUnlink(name));
}

/** Opens existing POSIX shm `name` read-write if it is ours alone (ERR_SHM_UNSAFE_PATH otherwise). */
export function openShm(name: string): number {
  return sys.openOwnedShm(name, { write: true });
}

/** Creates the file at `path` with `mode`; throws SystemError EEXIST when anything (a symlink too) is there. */
export function createFile(path: string, mode: number): number {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(path, c.O_RDWR | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
  } catch (err) {
    throw asSystemError(err, 'creating file', path);
  }
  return checkCreated(fd, path, () => fs.unlinkSync(path));
}

/** Opens the existing file at `path` if it is a regular file that is ours alone (ERR_SHM_UNSAFE_PATH otherwise). */
export function openFile(path: string, write: boolean): number {
  try {
    return sys.openOwnedFile(path, { write });
  } catch (err) {
    throw asSystemError(err, 'opening file', path);
  }
}
