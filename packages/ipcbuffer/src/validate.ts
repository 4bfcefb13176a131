import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

import type { IPCBufferCode } from './codes';
import { argType, badValue, IPCBufferArgumentError, outOfRange } from './errors';

/**
 * Refuses, before anything is created or mapped, a size no Buffer can hold:
 * ERR_SHM_SIZE_TOO_LARGE naming buffer.constants.MAX_LENGTH. Node would
 * otherwise fail late with ERR_BUFFER_TOO_LARGE, after the object exists.
 * Also applied to the size of an existing object someone else made.
 */
export function checkMappable(size: number, what: string): void {
  try {
    sys.checkMappableSize(size, what);
  } catch (err) {
    // checkMappableSize throws ERR_OUT_OF_RANGE or ERR_SHM_SIZE_TOO_LARGE, both in IPCBUFFER_CODES.
    const e = err as Error & { code: IPCBufferCode };
    throw new IPCBufferArgumentError(e.code, e.message, { cause: err });
  }
}

/** A shared buffer's length: a positive safe integer no larger than a Buffer can be. */
export function checkLength(length: unknown, what = 'length'): number {
  if (typeof length !== 'number') throw argType(what, 'a number', length);
  if (!Number.isInteger(length) || length <= 0) {
    throw outOfRange(`${what} must be a positive integer number of bytes, got ${length}${length === 0 ? ' (a shared buffer cannot be empty)' : ''}`);
  }
  checkMappable(length, what);
  return length;
}

/** An in-process buffer's length: like Buffer.alloc, 0 is allowed. */
export function checkMemoryLength(length: unknown): number {
  if (typeof length !== 'number') throw argType('length', 'a number', length);
  if (!Number.isInteger(length) || length < 0) throw outOfRange(`length must be a non-negative integer, got ${length}`);
  checkMappable(length, 'length');
  return length;
}

export function checkEncoding(encoding: string): BufferEncoding {
  if (!Buffer.isEncoding(encoding)) throw badValue(`unknown encoding ${JSON.stringify(encoding)}; use one of utf8, ascii, latin1, binary, base64, base64url, hex, ucs2, utf16le`);
  return encoding;
}

/**
 * A POSIX shm name: "/name" or "name" (the slash is added), one path
 * component, at most NAME_MAX (255) bytes with the slash.
 */
export function posixName(name: unknown): string {
  if (typeof name !== 'string') throw argType('POSIX shared memory name', 'a string', name);
  const full = name.startsWith('/') ? name : `/${name}`;
  if (!sys.isValidShmName(full)) {
    throw badValue(`invalid POSIX shared memory name ${JSON.stringify(name)}: use "/name" or "name" with no other "/", no NUL, at most 254 bytes`);
  }
  return full;
}

export function checkPath(path: unknown): string {
  if (typeof path !== 'string') throw argType('file path', 'a string', path);
  if (path.length === 0 || path.includes('\0')) throw badValue(`invalid file path ${JSON.stringify(path)}: it must be non-empty and contain no NUL`);
  return path;
}

/**
 * Permission bits of a created object or file. Group/other write is refused:
 * ipcbuffer opens only objects no other user can write (ERR_SHM_UNSAFE_PATH),
 * so such an object could not even be opened again by its creator.
 */
export function checkMode(mode: unknown): number {
  if (mode === undefined) return 0o600;
  if (typeof mode !== 'number') throw argType('mode', 'a number such as 0o600', mode);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw outOfRange(`mode must be permission bits in [0, 0o777], got 0o${mode.toString(8)}`);
  if ((mode & 0o022) !== 0) {
    throw badValue(`mode 0o${mode.toString(8)} lets other users write; ipcbuffer only opens objects that no other user can write, so use at most 0o644 (default 0o600)`);
  }
  return mode;
}

/** Total size of the tmpfs behind POSIX shm, or Infinity when it cannot be read. */
export function posixShmCapacity(): number {
  try {
    const s = fs.statfsSync('/dev/shm');
    return s.bsize * s.blocks;
  } catch {
    return Infinity;
  }
}
