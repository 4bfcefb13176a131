import fs from 'node:fs';
import path from 'node:path';

import { SystemError, UnsafePathError } from '../errors';
import { shmOpen, shmUnlink } from './calls';
import * as C from './constants';

/*
 * Opening paths in places other users can write (/dev/shm, /tmp, a runtime
 * directory someone else made). Whatever is already there is input: a
 * symlink planted to redirect our writes, a file another user pre-created to
 * read what we put in it, a directory they can swap entries in. Every shared
 * path in shmkit is opened or created through these functions, so the rule
 * lives in one place: never follow a symlink, only use what we own and
 * nobody else can write, create private (0600 files, 0700 directories).
 */

export interface OwnedOpenOptions {
  /** Open read-write (default: read-only). */
  write?: boolean;
  /** Create the file when it is missing (mode below). */
  create?: boolean;
  /** With `create`: fail with EEXIST when it already exists. */
  exclusive?: boolean;
  /** Truncate to 0 bytes (needs `write`). */
  truncate?: boolean;
  /** Every write goes to the end (O_APPEND; needs `write`): a log file. */
  append?: boolean;
  /** Permission bits of a created file; default 0600. */
  mode?: number;
}

function euid(): number {
  return process.geteuid?.() ?? 0;
}

function unsafe(what: string, problem: string, fix: string, where: string): UnsafePathError {
  return new UnsafePathError(`${what} ${problem}; ${fix}`, where);
}

/**
 * Throws ERR_SHM_UNSAFE_PATH unless `st` (from lstat or fstat) is a `kind`
 * owned by this process's effective uid that no other user can write.
 * Directories must also be private (no group or other bits at all).
 */
export function checkOwnedStat(st: fs.Stats, what: string, kind: 'file' | 'directory'): void {
  const isKind = kind === 'directory' ? st.isDirectory() : st.isFile();
  if (!isKind) {
    const actual = st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'a special file';
    throw unsafe(what, `is ${actual}, not a ${kind === 'file' ? 'regular file' : 'directory'}`, 'remove it or choose another path', what);
  }
  const uid = euid();
  if (st.uid !== uid) {
    throw unsafe(what, `is owned by uid ${st.uid}, not by this process (uid ${uid}): another user could read or change it`, 'remove it or choose another path', what);
  }
  const forbidden = kind === 'directory' ? 0o077 : 0o022;
  if ((st.mode & forbidden) !== 0) {
    const expected = kind === 'directory' ? '0700' : '0600 or 0644';
    const how = (st.mode & 0o022) !== 0 ? 'group- or world-writable' : 'open to group or other users';
    throw unsafe(what, `is ${how} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`, `chmod it to ${expected} or choose another path`, what);
  }
}

/** checkOwnedStat on an open fd. */
export function checkOwnedFd(fd: number, what: string, kind: 'file' | 'directory'): void {
  checkOwnedStat(fs.fstatSync(fd), what, kind);
}

function nodeFlags(o: OwnedOpenOptions): number {
  const c = fs.constants;
  let flags = (o.write === true ? c.O_RDWR : c.O_RDONLY) | c.O_NOFOLLOW;
  if (o.create === true) flags |= c.O_CREAT;
  if (o.create === true && o.exclusive === true) flags |= c.O_EXCL;
  if (o.truncate === true) flags |= c.O_TRUNC;
  if (o.append === true) flags |= c.O_APPEND;
  return flags;
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Node's fs error as shmkit's SystemError, so callers see one error type with a code. */
function systemError(err: unknown, context: string, where: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e.errno !== 'number') return err;
  return new SystemError(Math.abs(e.errno), e.syscall ?? 'open', context, where);
}

/** Opens after the checks; closes and rethrows if they fail. */
function checked(fd: number, what: string): number {
  try {
    checkOwnedFd(fd, what, 'file');
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/**
 * Opens (or creates, 0600 by default) a regular file at `file` that must be
 * ours: never through a symlink (O_NOFOLLOW), refused when another user owns
 * it or can write it. The fd is close-on-exec (libuv opens with O_CLOEXEC);
 * the caller owns it.
 */
export function openOwnedFile(file: string, options: OwnedOpenOptions = {}): number {
  let fd: number;
  try {
    fd = fs.openSync(file, nodeFlags(options), options.mode ?? 0o600);
  } catch (err) {
    // O_NOFOLLOW answers ELOOP, but with fs.protected_symlinks the kernel
    // refuses a planted link in a sticky directory with EACCES first.
    if (isSymlink(file)) throw unsafe(file, 'is a symlink; shared paths are never followed through one', 'remove it or name the target directly', file);
    throw systemError(err, 'opening a shared file', file);
  }
  return checked(fd, file);
}

/**
 * shm_open(3) with the same rules (glibc already opens /dev/shm entries with
 * O_NOFOLLOW; the owner and mode are checked here).
 */
export function openOwnedShm(name: string, options: OwnedOpenOptions = {}): number {
  let flags = options.write === true ? C.O_RDWR : C.O_RDONLY;
  if (options.create === true) flags |= C.O_CREAT;
  if (options.create === true && options.exclusive === true) flags |= C.O_EXCL;
  if (options.truncate === true) flags |= C.O_TRUNC;
  let fd: number;
  try {
    fd = shmOpen(name, flags, options.mode ?? 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw unsafe(`POSIX shared memory ${name}`, 'is a symlink', `remove /dev/shm${name} or choose another name`, name);
    }
    throw err;
  }
  return checked(fd, `POSIX shared memory ${name}`);
}

/**
 * Creates a new file at `file` (O_CREAT | O_EXCL | O_NOFOLLOW, `mode`,
 * default 0600): EEXIST when anything, a symlink too, is there already.
 * Because this call made the entry, it removes it again when the check
 * after the open fails, so a failed create leaves nothing behind.
 */
export function createOwnedFile(file: string, mode = 0o600): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  } catch (err) {
    throw systemError(err, 'creating a shared file', file);
  }
  return checkedNew(fd, file, () => fs.unlinkSync(file));
}

/** createOwnedFile for POSIX shm "/name". */
export function createOwnedShm(name: string, mode = 0o600): number {
  const fd = shmOpen(name, C.O_RDWR | C.O_CREAT | C.O_EXCL, mode);
  return checkedNew(fd, `POSIX shared memory ${name}`, () => shmUnlink(name));
}

/**
 * A file of ours that stays between runs (a lock file, say): created 0600
 * when absent, else opened, with the same rules either way. `created` says
 * which.
 */
export function openOrCreateOwnedFile(file: string, mode = 0o600): { fd: number; created: boolean } {
  try {
    return { fd: createOwnedFile(file, mode), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { fd: openOwnedFile(file, { write: true }), created: false };
}

function checkedNew(fd: number, what: string, remove: () => void): number {
  try {
    checkOwnedFd(fd, what, 'file');
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    try {
      remove();
    } catch {
      // The check's error is the one to report.
    }
    throw err;
  }
}

/**
 * Creates `dir` (0700) when it is missing — its parent must exist — and
 * checks it: a real directory (not a symlink), ours, with no group or other
 * permission. For directories shmkit chooses itself, such as runtime
 * directories under /tmp, where another user could have made it first.
 */
export function ensurePrivateDir(dir: string, options: { create?: boolean } = {}): void {
  if (options.create ?? true) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw systemError(err, 'creating a private directory', dir);
    }
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (err) {
    throw systemError(err, 'checking a private directory', dir);
  }
  checkOwnedStat(st, `directory ${dir}`, 'directory');
}

/**
 * Checks a directory the user named explicitly (such as the parent of a
 * `--socket PATH`): it may be shared, but then only in the way /tmp is.
 * It must be owned by us or root, and when others can write it, sticky, so
 * that they cannot rename or remove what we put there.
 */
export function checkSharedDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw systemError(err, 'checking a directory', dir);
  }
  if (!st.isDirectory()) throw unsafe(dir, 'is not a directory', 'choose a directory', dir);
  const uid = euid();
  if (st.uid !== uid && st.uid !== 0) {
    throw unsafe(`directory ${dir}`, `is owned by uid ${st.uid}, neither this process (uid ${uid}) nor root`, 'choose a directory of your own', dir);
  }
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw unsafe(
      `directory ${dir}`,
      `is writable by other users and not sticky (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): they could replace what we put there`,
      'choose a private directory',
      dir,
    );
  }
}

/**
 * The per-user runtime directory named `name`: `$XDG_RUNTIME_DIR/<name>`
 * (a per-user 0700 tmpfs under systemd), else `/tmp/<name>-<uid>`. Pass the
 * result to ensurePrivateDir before use: under /tmp anyone may have made it.
 */
export function runtimeDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, name);
  return path.join('/tmp', `${name}-${euid()}`);
}
