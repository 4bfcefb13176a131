import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import type { RmmapCode } from '../codes';
import { RmmapError } from '../errors';
import { errnoDescription } from './root-relative';

/** A file opened inside the served root. The caller owns `fd`. */
export interface ConfinedFile {
  fd: number;
  /** The file's real path (symlinks resolved), always inside the root. */
  realPath: string;
  size: number;
  writable: boolean;
}

/**
 * Checks the shape of a client-supplied path (PROTOCOL.md §4.1): relative, no
 * `..` segment, no NUL. Returns the normalised relative path.
 */
export function checkRelativePath(p: string): string {
  if (p.length === 0 || p.includes('\0')) throw new RmmapError('ERR_RMMAP_BAD_PATH', 'path must be a non-empty string without NUL');
  if (path.isAbsolute(p)) throw new RmmapError('ERR_RMMAP_BAD_PATH', `path ${JSON.stringify(p)} is absolute; give a path relative to the served root`);
  const segments = p.split('/');
  if (segments.includes('..')) throw new RmmapError('ERR_RMMAP_BAD_PATH', `path ${JSON.stringify(p)} contains '..'; paths must stay inside the served root`);
  return path.normalize(p);
}

/**
 * Opens `rel` under `rootReal` (a real path, no symlinks) and proves the
 * opened file lies inside it. The proof reads the kernel's name of the opened
 * fd (/proc/self/fd/N) *after* opening, so a symlink swapped in between a
 * check and the open cannot escape the root.
 */
export function openConfined(rootReal: string, rel: string, wantWrite: boolean): ConfinedFile {
  const clean = checkRelativePath(rel);
  const full = path.join(rootReal, clean);
  // O_NONBLOCK: opening a FIFO planted in the root must not hang the server.
  const base = sys.constants.O_CLOEXEC | sys.constants.O_NONBLOCK;
  let fd: number;
  let writable = wantWrite;
  try {
    try {
      fd = sys.open(full, base | (wantWrite ? sys.constants.O_RDWR : sys.constants.O_RDONLY));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!wantWrite || (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM')) throw e;
      fd = sys.open(full, base | sys.constants.O_RDONLY);
      writable = false;
    }
  } catch (e) {
    throw openError(e, clean);
  }
  try {
    const real = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (real !== rootReal && !real.startsWith(rootReal.endsWith('/') ? rootReal : `${rootReal}/`)) {
      throw new RmmapError('ERR_RMMAP_BAD_PATH', `path ${JSON.stringify(rel)} resolves outside the served root (a symlink escape)`);
    }
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new RmmapError('EISDIR', `path ${JSON.stringify(rel)} is a directory; map a regular file`);
    if (!st.isFile()) throw new RmmapError('ERR_RMMAP_BAD_PATH', `path ${JSON.stringify(rel)} is not a regular file`);
    return { fd, realPath: real, size: st.size, writable };
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

/**
 * A failed open, told to the client with its errno name as the code and the
 * path as the client gave it: the system's message names the absolute path,
 * which would reveal where the root lies.
 */
function openError(e: unknown, rel: string): RmmapError {
  const code = (e as { code?: unknown }).code;
  // Any errno name passes through here; the connection sends the ones the
  // wire knows (constants.ts WireError) and ERR_RMMAP_IO for the rest.
  const name = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? (code as RmmapCode) : 'ERR_RMMAP_IO';
  const why = errnoDescription(e) ?? 'cannot be opened';
  return new RmmapError(name, `${name === 'ERR_RMMAP_IO' ? '' : `${name}: `}${JSON.stringify(rel)}: ${why}`, { cause: e });
}
