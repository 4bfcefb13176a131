import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { fromMapping, type IPCBuffer } from './buffer';
import { argType, outOfRange, withHint } from './errors';
import { checkLength, checkMappable } from './validate';

export interface AnonymousOptions {
  /** Allocate the pages up front (default true): no SIGBUS later when memory is short. */
  reserve?: boolean;
}

/**
 * Shared memory with no name: a memfd the buffer owns, sealed against
 * shrinking. Share it with a
 * child by passing `buf.fd` in its stdio (it arrives as fd 3 with
 * `stdio: [..., buf.fd]`) and calling IPCBuffer.fromFd(3) there. The memory
 * lives while any process has the fd open or mapped.
 */
export function openAnonymous(lengthIn: unknown, options: AnonymousOptions = {}): IPCBuffer {
  const length = checkLength(lengthIn);
  const fd = sys.memfdCreate('ipcbuffer');
  let mapping: sys.Mapping;
  try {
    sys.ftruncate(fd, length);
    // Nobody we hand the fd to can cut pages from under our mapping (SIGBUS).
    sys.addSeals(fd, sys.constants.F_SEAL_SHRINK);
    if (options.reserve ?? true) sys.fallocate(fd, 0, length);
    mapping = sys.map(fd, { length });
  } catch (err) {
    sys.close(fd);
    withHint(err, { ENOSPC: `not enough memory for ${length} bytes of shared memory; use a smaller length` });
  }
  return fromMapping({ kind: 'anonymous', mapping, fd, created: true });
}

/**
 * Maps an fd received from another process (a memfd, a /dev/shm file or any
 * regular file) and takes ownership of it: close() closes it.
 */
export function openFd(fd: unknown, options: { length?: number } = {}): IPCBuffer {
  if (typeof fd !== 'number') throw argType('fd', 'a number', fd);
  if (!Number.isInteger(fd) || fd < 0) throw outOfRange(`fd must be a non-negative integer, got ${fd}`);
  let size: number;
  try {
    const st = sys.fstat(fd);
    if (!st.isFile()) throw outOfRange(`fd ${fd} is not a regular file or memfd; pass the fd of shared memory`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EBADF') {
      throw new SystemError(9, 'fstat', `fd ${fd} is not open in this process; pass the fd the parent handed over (e.g. 3 for stdio: [..., fd])`);
    }
    throw err;
  }
  if (options.length === undefined) checkMappable(size, `fd ${fd}`);
  const length = options.length === undefined ? size : checkLength(options.length);
  if (length === 0) throw outOfRange(`fd ${fd} refers to an empty file; the sender must size it first`);
  if (length > size) throw outOfRange(`fd ${fd} has ${size} bytes, fewer than the ${length} asked for`);
  sys.setCloexec(fd, true); // ours now: not for our own children unless passed explicitly
  const mapping = sys.map(fd, { length });
  return fromMapping({ kind: 'anonymous', mapping, fd, created: false });
}
