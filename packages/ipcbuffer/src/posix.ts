import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { fromMapping, type IPCBuffer } from './buffer';
import { badValue, outOfRange, withHint } from './errors';
import { forget, record } from './registry';
import { checkLength, checkMappable, checkMode, posixName, posixShmCapacity } from './validate';

export interface PosixOptions {
  /** Create the object when it does not exist (default true; needs a length). */
  create?: boolean;
  /** Fail with EEXIST when it already exists. */
  exclusive?: boolean;
  /** Permission bits of a created object (default 0o600). */
  mode?: number;
  /**
   * Allocate the pages up front (default true), so running out of /dev/shm
   * space fails here with ENOSPC instead of killing the process with SIGBUS
   * on a later write.
   */
  reserve?: boolean;
  /** @internal encoding recorded by the IPCBuffer() forms. */
  encoding?: BufferEncoding;
}

const openHints = (name: string) => ({
  ENOENT: `POSIX shared memory ${name} does not exist; create it by passing a length (IPCBuffer.posix(name, length)) or check the name with \`ipcbuffer ls\``,
  EACCES: `POSIX shared memory ${name} belongs to another user or its mode forbids read-write access; run as its owner or have it recreated with a wider mode`,
  EEXIST: `POSIX shared memory ${name} already exists and { exclusive: true } was given; remove it with IPCBuffer.unlink(name) or \`ipcbuffer rm ${name}\``,
  EINVAL: `the name ${name} is not usable for POSIX shared memory; use "/name"`,
});

/**
 * Opens or creates POSIX shared memory (a file in /dev/shm) and maps
 * `length` bytes of it (default: its whole size). A smaller existing object
 * is grown. The object outlives every process until IPCBuffer.unlink(name).
 */
export function openPosix(nameIn: unknown, lengthIn?: unknown, options: PosixOptions = {}): IPCBuffer {
  const name = posixName(nameIn);
  const length = lengthIn === undefined ? undefined : checkLength(lengthIn);
  const mode = checkMode(options.mode);
  const exclusive = options.exclusive === true;
  const mayCreate = (options.create ?? true) && length !== undefined;
  if (exclusive && length === undefined) throw badValue('{ exclusive: true } creates the object, so a length is required');
  if (length !== undefined) {
    const cap = posixShmCapacity();
    if (length > cap) throw outOfRange(`length ${length} is larger than /dev/shm (${cap} bytes); enlarge the tmpfs (mount -o remount,size=…) or use a file-backed buffer`);
  }
  let fd = -1;
  let created = false;
  const hints = openHints(name);
  // O_EXCL first tells us whether we created it; a racing unlink sends us round again.
  // An existing object must be ours alone (openOwnedShm): /dev/shm is writable by every user.
  for (let attempt = 0; fd < 0; attempt++) {
    if (mayCreate) {
      try {
        fd = sys.createOwnedShm(name, mode);
        created = true;
        break;
      } catch (err) {
        if (!(err instanceof SystemError && err.code === 'EEXIST') || exclusive) withHint(err, hints);
      }
    }
    try {
      fd = sys.openOwnedShm(name, { write: true });
    } catch (err) {
      if (!(mayCreate && attempt < 3 && err instanceof SystemError && err.code === 'ENOENT')) withHint(err, hints);
    }
  }
  let mapping: sys.Mapping;
  let size = 0;
  try {
    size = sys.fstat(fd).size;
    const want = length ?? size;
    if (length === undefined) checkMappable(size, `POSIX shared memory ${name}`);
    if (want === 0) throw outOfRange(`POSIX shared memory ${name} exists but is empty; pass a length to size it`);
    if (size < want) {
      sys.ftruncate(fd, want);
      if (options.reserve ?? true) sys.fallocate(fd, size, want - size);
    }
    mapping = sys.map(fd, { length: want });
  } catch (err) {
    sys.close(fd);
    if (created) {
      try {
        sys.shmUnlink(name);
      } catch {
        // the error that got us here is the one to report
      }
    }
    withHint(err, { ENOSPC: `/dev/shm has no room for ${length} bytes; free space (ipcbuffer ls / rm) or use a file-backed buffer` });
  }
  sys.close(fd); // the mapping keeps the object; no fd is needed afterwards
  if (created) record('posix', name, mapping.length);
  return fromMapping({ kind: 'posix', mapping, created, name, ...(options.encoding === undefined ? {} : { encoding: options.encoding }) });
}

/** Removes the name (shm_unlink). Processes that mapped it keep their memory until they close. */
export function unlinkPosix(nameIn: unknown): void {
  const name = posixName(nameIn);
  try {
    sys.shmUnlink(name);
  } catch (err) {
    withHint(err, { ...openHints(name), ENOENT: `POSIX shared memory ${name} does not exist, so there is nothing to remove; list objects with \`ipcbuffer ls\`` });
  }
  forget('posix', name);
}
