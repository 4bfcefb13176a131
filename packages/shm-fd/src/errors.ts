import { constants as osConstants } from 'node:os';

import type { ShmFdCode } from './codes';

/**
 * Base class of every error shmkit throws. Subclasses carry a stable `code`;
 * match on `err.code`, never on the message.
 *
 * `instanceof` is answered by a `Symbol.for` brand rather than the prototype
 * chain, so it still works when a package manager installs two copies of
 * shm-fd side by side.
 *
 * `C` is the set of codes a subclass may throw: each package's base class
 * passes its `codes.ts` table's keys, so a code missing from the table does
 * not compile. CodeOf keeps a literal argument from widening `C`.
 */
export class ShmkitError<C extends string = string> extends Error {
  readonly code: string;

  constructor(code: CodeOf<C>, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // Brand the instance with every class in its chain, by name.
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      Object.defineProperty(this, brandOf((c as { name: string }).name), { value: true });
    }
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    return (value as Record<symbol, unknown>)[brandOf(this.name)] === true;
  }
}

/**
 * `C`, but not a place TypeScript infers `C` from (the built-in NoInfer,
 * written so that declarations also compile with TypeScript before 5.4).
 */
export type CodeOf<C> = [C][C extends unknown ? 0 : never];

function brandOf(className: string): symbol {
  return Symbol.for(`@shmkit/error:${className}`);
}

/** A system call failed; shaped like Node's own errno exceptions. */
export class SystemError extends ShmkitError {
  readonly errno: number;
  readonly syscall: string;
  /** The errno's meaning alone ("no such file or directory"), for texts that must not carry the path. */
  readonly description: string;
  readonly path?: string;

  constructor(errno: number, syscall: string, context: string, path?: string) {
    const code = errnoName(errno);
    super(code, `${code}: ${describeErrno(errno)}, ${syscall} (${context})${path === undefined ? '' : ` '${path}'`}`);
    this.errno = errno;
    this.syscall = syscall;
    this.description = describeErrno(errno);
    if (path !== undefined) this.path = path;
  }
}

/** Invalid arguments or configuration given by the caller. */
export class ShmArgumentError extends ShmkitError<ShmFdCode> {}

/** An operation on a handle that was already closed. */
export class ShmClosedError extends ShmkitError<ShmFdCode> {
  constructor(what: string) {
    super('ERR_SHM_CLOSED', `${what} is closed; create or open a new one`);
  }
}

/**
 * A shared path (in /dev/shm, /tmp, a runtime directory) is a symlink, is
 * owned by another user, or can be written by others: using it would let
 * them redirect or read our data. `path` names it.
 */
export class UnsafePathError extends ShmkitError<ShmFdCode> {
  readonly path: string;

  constructor(message: string, path: string) {
    super('ERR_SHM_UNSAFE_PATH', message);
    this.path = path;
  }
}

/** LISTEN_FDS and friends are present but inconsistent. */
export class ListenFdsError extends ShmkitError<ShmFdCode> {}

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function errnoNumber(name: string): number {
  const n = (osConstants.errno as Record<string, number | undefined>)[name];
  if (n === undefined) throw new RangeError(`unknown errno name ${name}`);
  return n;
}

const descriptions: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EINTR: 'interrupted system call',
  EIO: 'i/o error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'not enough memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'resource busy',
  EEXIST: 'file already exists',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  ENFILE: 'file table overflow',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  ESPIPE: 'invalid seek',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe',
  ENAMETOOLONG: 'name too long',
  ENOSYS: 'function not implemented',
  ETIMEDOUT: 'operation timed out',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTSOCK: 'socket operation on non-socket',
  EOVERFLOW: 'value too large for defined data type',
  ELOOP: 'too many symbolic links encountered',
  EIDRM: 'identifier removed',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EOWNERDEAD: 'owner died',
};

export function describeErrno(errno: number): string {
  return descriptions[errnoName(errno)] ?? `error ${errno}`;
}
