import fs from 'node:fs';
import path from 'node:path';

import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { fromMapping, type IPCBuffer } from './buffer';
import { badValue, outOfRange, withHint } from './errors';
import { record } from './registry';
import { checkLength, checkMappable, checkMode, checkPath } from './validate';

export interface FileOptions {
  /** Create the file when missing (default true; needs a length). */
  create?: boolean;
  /**
   * Open read-only. Writes through the Buffer then stay private to this
   * process (copy-on-write) and never reach the file.
   */
  readOnly?: boolean;
  /** Permission bits of a created file (default 0o600). */
  mode?: number;
  /**
   * Allocate disk blocks for the grown part up front (default true), so a
   * full disk fails here with ENOSPC instead of SIGBUS on a later write.
   */
  reserve?: boolean;
  /** @internal encoding recorded by the IPCBuffer() forms. */
  encoding?: BufferEncoding;
}

const hints = (p: string, readOnly: boolean) => ({
  ENOENT: `${p} does not exist (or its directory does not); pass a length to create it, or create the directory first`,
  EACCES: readOnly
    ? `${p} is not readable by this user; check its permissions (ls -l)`
    : `${p} is not writable by this user; check its permissions (ls -l) or open it with { readOnly: true }`,
  EISDIR: `${p} is a directory; give the path of a file`,
  EROFS: `${p} is on a read-only file system; open it with { readOnly: true }`,
  ENOSPC: `the file system of ${p} is full; free space or use a smaller length`,
});

/**
 * Maps a file: its existing content is visible at once, a missing file is
 * created at `length` (0600), and a shorter one is grown. Writes reach the
 * file on sync(), close(), at process exit, and whenever the kernel writes
 * back dirty pages; other processes mapping or reading the file see them at
 * once (same page cache).
 */
export function openFile(pathIn: unknown, lengthIn?: unknown, options: FileOptions = {}): IPCBuffer {
  const file = checkPath(pathIn);
  const length = lengthIn === undefined ? undefined : checkLength(lengthIn);
  const mode = checkMode(options.mode);
  const readOnly = options.readOnly === true;
  const mayCreate = (options.create ?? true) && length !== undefined && !readOnly;
  const h = hints(file, readOnly);
  let fd = -1;
  let created = false;
  // Never through a symlink, never into a file another user owns or can write
  // (shm-fd's owned-path rules); O_EXCL first tells us whether we created it.
  for (let attempt = 0; fd < 0; attempt++) {
    if (mayCreate) {
      try {
        fd = sys.createOwnedFile(file, mode);
        created = true;
        break;
      } catch (err) {
        if (!(err instanceof SystemError && err.code === 'EEXIST')) withHint(err, h);
      }
    }
    try {
      fd = sys.openOwnedFile(file, { write: !readOnly });
    } catch (err) {
      if (!(mayCreate && attempt < 3 && err instanceof SystemError && err.code === 'ENOENT')) withHint(err, h);
    }
  }
  let mapping: sys.Mapping;
  try {
    const st = sys.fstat(fd);
    if (!st.isFile()) throw badValue(`${file} is not a regular file; file-backed buffers map regular files only`);
    const size = st.size;
    const want = length ?? size;
    if (length === undefined) checkMappable(size, file);
    if (want === 0) throw outOfRange(`${file} is empty; pass a length to grow it`);
    if (size < want) {
      if (readOnly) throw outOfRange(`${file} has ${size} bytes, fewer than the ${want} asked for, and is opened read-only; pass a length ≤ ${size}`);
      sys.ftruncate(fd, want);
      if (options.reserve ?? true) sys.fallocate(fd, size, want - size);
    }
    mapping = sys.map(fd, { length: want, writable: !readOnly });
  } catch (err) {
    sys.close(fd);
    if (created) fs.rmSync(file, { force: true }); // only what this call created
    withHint(err, h);
  }
  sys.close(fd);
  if (created) record('file', path.resolve(file), mapping.length);
  return fromMapping({ kind: 'file', mapping, created, path: file, ...(options.encoding === undefined ? {} : { encoding: options.encoding }) });
}
