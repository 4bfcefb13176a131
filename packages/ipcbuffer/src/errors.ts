import { ShmkitError, SystemError } from '@shmkit/shm-fd';

import type { IPCBufferCode } from './codes';

/**
 * Base class of every error @shmkit/ipcbuffer throws itself. Match on
 * `err.code`; failed system calls arrive as shm-fd's SystemError with errno
 * codes (ENOENT, EACCES, EINVAL, EEXIST…) and a message that says what to do.
 */
export class IPCBufferError extends ShmkitError<IPCBufferCode> {}

/**
 * A caller passed something unusable: ERR_INVALID_ARG_TYPE (wrong type),
 * ERR_OUT_OF_RANGE (bad length, offset or key), ERR_INVALID_ARG_VALUE (bad
 * name, encoding or option).
 */
export class IPCBufferArgumentError extends IPCBufferError {}

/** A Mutex or Semaphore could not be acquired within the timeout: ERR_IPCBUFFER_LOCK_TIMEOUT. */
export class LockTimeoutError extends IPCBufferError {
  constructor(what: string, timeoutMs: number) {
    super('ERR_IPCBUFFER_LOCK_TIMEOUT', `${what} was not acquired within ${timeoutMs} ms; the holder may be slow or stuck (see \`ipcbuffer ls\`)`);
  }
}

/** Releasing a Mutex this thread does not hold, or a Semaphore past its maximum: ERR_IPCBUFFER_LOCK_STATE. */
export class LockStateError extends IPCBufferError {}

export function argType(what: string, expected: string, got: unknown): IPCBufferArgumentError {
  return new IPCBufferArgumentError('ERR_INVALID_ARG_TYPE', `${what} must be ${expected}, got ${describe(got)}`);
}

export function outOfRange(message: string): IPCBufferArgumentError {
  return new IPCBufferArgumentError('ERR_OUT_OF_RANGE', message);
}

export function badValue(message: string): IPCBufferArgumentError {
  return new IPCBufferArgumentError('ERR_INVALID_ARG_VALUE', message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return `a Buffer of ${v.length} bytes`;
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/**
 * Re-throws a SystemError with advice for the user appended to its context;
 * code, errno, syscall and path are kept, the original is the cause.
 */
export function withHint(err: unknown, hints: Partial<Record<string, string>>): never {
  if (err instanceof SystemError) {
    const hint = hints[err.code];
    if (hint !== undefined) {
      const context = /\((.*)\)/.exec(err.message)?.[1] ?? err.syscall;
      const e = new SystemError(err.errno, err.syscall, `${context}: ${hint}`, err.path);
      Object.defineProperty(e, 'cause', { value: err, enumerable: false, configurable: true });
      throw e;
    }
  }
  throw err;
}
