import { openAnonymous, openFd, type AnonymousOptions } from './anonymous';
import { alias, fromMemory, isIPCBuffer, type IPCBuffer as Shared } from './buffer';
import { argType, outOfRange } from './errors';
import { openFile, type FileOptions } from './file';
import { openPosix, unlinkPosix, type PosixOptions } from './posix';
import { openSysv, removeSysv, type SysvOptions } from './sysv';
import { checkEncoding, checkMemoryLength } from './validate';

/** A real Buffer with IPCBufferExtras (kind, sync, close…). */
export type IPCBuffer = Shared;

/** A shared-memory target in the original's constructor forms: "*name" (POSIX), a path (file), a key (System V). */
export type Target = string | number;

/**
 * The constructor forms of node-ipcbuffer, each callable with or without
 * `new`; every one returns a real Buffer.
 */
export interface IPCBufferConstructor {
  /** In-process memory, zero-filled (like Buffer.alloc). */
  (length: number, encoding?: BufferEncoding): Shared;
  /** Shared: "*name" → POSIX shm in memory only, a path → file-backed, a number → System V key. */
  (length: number, target: Target): Shared;
  (length: number, encoding: BufferEncoding, target: Target): Shared;
  /** An alias of `length` bytes of `parent` at `offset` (default 0), sharing its memory; without a length, a copy (like Buffer(buffer)). */
  (parent: Uint8Array, length?: number, offset?: number): Shared;
  (parent: Uint8Array, length: number, encoding: BufferEncoding, offset?: number): Shared;
  /** In-process copies, like Buffer.from. */
  (string: string, encoding?: BufferEncoding): Shared;
  (array: readonly number[]): Shared;
  /** A view of an ArrayBuffer, like Buffer.from(arrayBuffer, byteOffset, length). */
  (arrayBuffer: ArrayBuffer | SharedArrayBuffer, byteOffset?: number, length?: number): Shared;

  new (length: number, encoding?: BufferEncoding): Shared;
  new (length: number, target: Target): Shared;
  new (length: number, encoding: BufferEncoding, target: Target): Shared;
  new (parent: Uint8Array, length?: number, offset?: number): Shared;
  new (parent: Uint8Array, length: number, encoding: BufferEncoding, offset?: number): Shared;
  new (string: string, encoding?: BufferEncoding): Shared;
  new (array: readonly number[]): Shared;
  new (arrayBuffer: ArrayBuffer | SharedArrayBuffer, byteOffset?: number, length?: number): Shared;

  /** POSIX shared memory "/name" (in /dev/shm, memory only). */
  posix(name: string, length?: number, options?: Omit<PosixOptions, 'encoding'>): Shared;
  /** A file mapped into memory. */
  file(path: string, length?: number, options?: Omit<FileOptions, 'encoding'>): Shared;
  /** System V shared memory with a numeric key. */
  sysv(key: number, length?: number, options?: Omit<SysvOptions, 'encoding'>): Shared;
  /** Unnamed shared memory (a memfd) shareable with children through `buf.fd`. */
  anonymous(length: number, options?: AnonymousOptions): Shared;
  /** Maps an fd handed over by another process; takes ownership of it. */
  fromFd(fd: number, options?: { length?: number }): Shared;
  /** Removes a POSIX shm name. */
  unlink(name: string): void;
  /** Removes a System V segment (IPC_RMID). */
  removeSysv(key: number): void;
  /** True for buffers made by IPCBuffer (also what `instanceof IPCBuffer` answers). */
  isIPCBuffer(value: unknown): value is Shared;
}

function checkOffset(offset: unknown, parentLength: number): number {
  if (typeof offset !== 'number') throw argType('offset', 'a number', offset);
  if (!Number.isInteger(offset) || offset < 0 || offset > parentLength) throw outOfRange(`offset must be an integer in [0, ${parentLength}], got ${offset}`);
  return offset;
}

function fromLength(length: number, b: unknown, c: unknown, d: unknown, count: number): Shared {
  let encoding: BufferEncoding | undefined;
  let target: unknown = b;
  // An encoding name wins over a file of the same name; write "./hex" for the file.
  if (typeof b === 'string' && Buffer.isEncoding(b)) {
    encoding = b;
    target = c;
  } else if (c !== undefined) {
    throw argType('third argument', 'omitted when the second is not an encoding (forms: (length, encoding, target) or (length, target))', c);
  }
  if (count > 3) throw argType('fourth argument', 'omitted in the length-first forms', d);
  const opts = encoding === undefined ? {} : { encoding };
  if (target === undefined) return fromMemory(Buffer.alloc(checkMemoryLength(length)), encoding);
  if (typeof target === 'number') return openSysv(target, length, opts);
  if (typeof target === 'string') {
    if (target.startsWith('*')) return openPosix(target.slice(1), length, opts);
    return openFile(target, length, opts);
  }
  throw argType('second argument', 'an encoding, "*name" (POSIX shm), a file path or a numeric System V key', target);
}

function fromParent(parent: Uint8Array, b: unknown, c: unknown, d: unknown): Shared {
  if (b === undefined) return fromMemory(Buffer.from(parent));
  const length = checkMemoryLength(b);
  let encoding: BufferEncoding = 'utf8';
  let offset = 0;
  if (typeof c === 'string') {
    encoding = checkEncoding(c);
    if (d !== undefined) offset = checkOffset(d, parent.length);
  } else if (c !== undefined) {
    offset = checkOffset(c, parent.length);
  }
  if (offset + length > parent.length) {
    throw outOfRange(`alias [${offset}, ${offset + length}) does not fit in the parent's ${parent.length} bytes; shorten it or lower the offset`);
  }
  return alias(parent as Buffer, offset, length, encoding);
}

function construct(args: unknown[]): Shared {
  const [a, b, c, d] = args;
  if (typeof a === 'number') return fromLength(a, b, c, d, args.length);
  if (a instanceof Uint8Array) return fromParent(a, b, c, d);
  if (typeof a === 'string') {
    const encoding = b === undefined ? 'utf8' : typeof b === 'string' ? checkEncoding(b) : (() => { throw argType('encoding', 'a string', b); })();
    return fromMemory(Buffer.from(a, encoding), encoding);
  }
  if (a instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && a instanceof SharedArrayBuffer)) {
    return fromMemory(Buffer.from(a, b as number | undefined, c as number | undefined));
  }
  if (Array.isArray(a)) return fromMemory(Buffer.from(a as number[]));
  throw argType('first argument', 'a length, a parent Buffer, a string, an array or an ArrayBuffer', a);
}

/**
 * node-ipcbuffer's constructor: `IPCBuffer(length, "*name")`,
 * `new IPCBuffer(length, "/tmp/file")`, `IPCBuffer(length, 0x1234)`, … Works
 * with and without `new` because a constructor that returns an object
 * yields that object.
 */
export const IPCBuffer = function IPCBuffer(...args: unknown[]): Shared {
  return construct(args);
} as unknown as IPCBufferConstructor;

Object.defineProperties(IPCBuffer, {
  posix: { value: openPosix, enumerable: true },
  file: { value: openFile, enumerable: true },
  sysv: { value: openSysv, enumerable: true },
  anonymous: { value: openAnonymous, enumerable: true },
  fromFd: { value: openFd, enumerable: true },
  unlink: { value: unlinkPosix, enumerable: true },
  removeSysv: { value: removeSysv, enumerable: true },
  isIPCBuffer: { value: isIPCBuffer, enumerable: true },
  [Symbol.hasInstance]: { value: isIPCBuffer },
});
