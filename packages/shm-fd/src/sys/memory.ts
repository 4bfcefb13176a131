import { constants as bufferConstants } from 'node:buffer';

import { ShmArgumentError, ShmClosedError } from '../errors';
import { check, fstat, pageSize } from './calls';
import * as C from './constants';
import { registerBase } from './futex';
import { libc } from './libc';

export interface MapOptions {
  /** Bytes to map; defaults to the rest of the file after `offset`. */
  length?: number;
  /** Byte offset into the file; need not be page aligned. */
  offset?: number;
  /**
   * Default true. A read-only mapping is copy-on-write: writes through its
   * Buffer stay private to this process and never reach the file, so a stray
   * write cannot crash the process with SIGSEGV.
   */
  writable?: boolean;
}

/** What the finalizer needs to release an address range; never the wrapper itself. */
interface Region {
  addr: number;
  len: number;
  closed: boolean;
  label: string;
}

// Backstop only: the range is unmapped once the last view over it
// is collected. A range collected before close() is a leak and says so.
const regions = new FinalizationRegistry<Region>((r) => {
  if (!r.closed) {
    process.emitWarning(`${r.label} was garbage-collected without close(); call close() or use Symbol.dispose`, {
      code: 'SHM_LEAK',
    });
  }
  libc().munmap(r.addr, r.len);
});

// Symbol.for: a second copy of shm-fd in node_modules finds the same key.
const kMapping = Symbol.for('@shmkit/shm-fd:mapping');

/**
 * A range of a file mapped into this process, exposed as one Buffer.
 *
 * Lifetime: `buffer` (and every `subarray` of it) addresses the shared pages
 * until `close()`. After close the range is re-mapped as private anonymous
 * memory: the file is released at once, and stale views read zeros instead of
 * faulting. The address range itself is returned to the OS only when the last
 * view is garbage-collected, so V8 never sees two backing stores at one
 * address.
 */
export class Mapping implements Disposable {
  /** Address of the first byte of `buffer`. */
  readonly address: number;
  readonly length: number;
  /** Offset in the file of the first byte of `buffer`. */
  readonly offset: number;
  readonly writable: boolean;
  readonly #region: Region;
  #buffer: Buffer | undefined;
  #onClose: (() => void) | undefined;

  /** @internal Wraps memory already mapped at `base` (a whole page range). */
  constructor(
    base: number,
    baseLen: number,
    delta: number,
    length: number,
    offset: number,
    writable: boolean,
    label: string,
  ) {
    const whole = libc().externalBuffer(base, baseLen);
    this.#region = { addr: base, len: baseLen, closed: false, label };
    regions.register(whole.buffer, this.#region);
    registerBase(whole.buffer, base);
    // Any live view keeps the Mapping alive, so it is never reported as leaked while in use.
    Object.defineProperty(whole.buffer, kMapping, { value: this });
    this.#buffer = whole.subarray(delta, delta + length);
    this.address = base + delta;
    this.length = length;
    this.offset = offset;
    this.writable = writable;
  }

  /**
   * The Mapping whose memory `view` lies in, or undefined for any other
   * memory. Structures built over a Buffer use it to answer ERR_SHM_CLOSED
   * once the mapping is closed, instead of reading the zeroed pages.
   */
  static of(view: ArrayBufferView): Mapping | undefined {
    const m = (view.buffer as unknown as Record<symbol, unknown>)[kMapping];
    return typeof m === 'object' && m !== null && typeof (m as Mapping).closed === 'boolean' ? (m as Mapping) : undefined;
  }

  get closed(): boolean {
    return this.#region.closed;
  }

  /** The mapped bytes. Throws ERR_SHM_CLOSED after close(). */
  get buffer(): Buffer {
    if (this.#buffer === undefined) throw new ShmClosedError('the mapping');
    return this.#buffer;
  }

  /** An Int32Array over `count` words at byte `at` (4-aligned), for Atomics. */
  int32(at: number, count: number): Int32Array {
    const b = this.buffer;
    return new Int32Array(b.buffer, b.byteOffset + at, count);
  }

  /** A BigInt64Array over `count` words at byte `at` (8-aligned), for Atomics. */
  bigInt64(at: number, count: number): BigInt64Array {
    const b = this.buffer;
    return new BigInt64Array(b.buffer, b.byteOffset + at, count);
  }

  /** Flushes written pages to the file (msync); `async` only schedules it. */
  sync(options: { async?: boolean; offset?: number; length?: number } = {}): void {
    if (this.#buffer === undefined) throw new ShmClosedError('the mapping');
    const start = options.offset ?? 0;
    const len = options.length ?? this.length - start;
    checkRange(start, len, this.length, 'sync range');
    if (len === 0) return;
    const page = pageSize();
    const from = this.address + start;
    const aligned = from - (from % page);
    check(
      libc().msync(aligned, from + len - aligned, options.async === true ? C.MS_ASYNC : C.MS_SYNC),
      'msync',
      `flushing ${len} bytes of a mapping`,
    );
  }

  /** Hints the kernel about the access pattern (madvise). */
  advise(advice: number): void {
    if (this.#buffer === undefined) throw new ShmClosedError('the mapping');
    check(libc().madvise(this.#region.addr, this.#region.len, advice), 'madvise', 'advising on a mapping');
  }

  /** @internal Called when closed, once. */
  set onClose(fn: (() => void) | undefined) {
    this.#onClose = fn;
  }

  /** Releases the shared pages. Idempotent. Stale views read zeros afterwards. */
  close(): void {
    if (this.#region.closed) return;
    const r = this.#region;
    // Replacing the range (MAP_FIXED) detaches the file, or a SysV segment, in
    // one step, and keeps the addresses valid for views that outlive us.
    const res = libc().mmap(r.addr, r.len, C.PROT_READ | C.PROT_WRITE, C.MAP_FIXED | C.MAP_PRIVATE | C.MAP_ANONYMOUS, -1, 0);
    check(res, 'mmap', 'replacing a closed mapping with anonymous memory');
    r.closed = true;
    this.#buffer = undefined;
    const cb = this.#onClose;
    this.#onClose = undefined;
    cb?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Refuses, up front and with a coded error, a size that no Buffer can hold
 * (buffer.constants.MAX_LENGTH), rather than failing late inside Node with
 * ERR_BUFFER_TOO_LARGE after the memory was already created.
 */
export function checkMappableSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `${what} must be a non-negative integer number of bytes, got ${size}`);
  }
  if (size > MAX_BUFFER_LENGTH) {
    throw new ShmArgumentError(
      'ERR_SHM_SIZE_TOO_LARGE',
      `${what} of ${size} bytes is more than one mapping can hold in Node (${MAX_BUFFER_LENGTH} bytes, buffer.constants.MAX_LENGTH); use a smaller size or map the file in parts`,
    );
  }
}

const MAX_BUFFER_LENGTH = bufferConstants.MAX_LENGTH;

function checkRange(start: number, len: number, limit: number, what: string): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(len) || start < 0 || len < 0 || start + len > limit) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `${what} [${start}, ${start + len}) is outside [0, ${limit})`);
  }
}

/**
 * Maps part of a file into memory. Refuses ranges past the end of the file:
 * touching those pages would kill the process with SIGBUS.
 */
export function map(fd: number, options: MapOptions = {}): Mapping {
  const writable = options.writable ?? true;
  const offset = options.offset ?? 0;
  const size = fstat(fd).size;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `map offset must be a non-negative integer, got ${offset}`);
  }
  const length = options.length ?? size - offset;
  if (Number.isSafeInteger(length) && length > 0) checkMappableSize(length, `mapping of fd ${fd}`);
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new ShmArgumentError(
      'ERR_OUT_OF_RANGE',
      size === 0
        ? `cannot map fd ${fd}: the file is empty; resize it first (SharedFd.resize or ftruncate)`
        : `map length must be a positive integer, got ${length}`,
    );
  }
  if (offset + length > size) {
    throw new ShmArgumentError(
      'ERR_SHM_MAP_BEYOND_EOF',
      `cannot map [${offset}, ${offset + length}) of fd ${fd}: the file has only ${size} bytes; resize it first`,
    );
  }
  const page = pageSize();
  const delta = offset % page;
  const baseOffset = offset - delta;
  const baseLen = delta + length;
  const prot = C.PROT_READ | C.PROT_WRITE;
  const flags = writable ? C.MAP_SHARED : C.MAP_PRIVATE;
  const addr = check(libc().mmap(0, baseLen, prot, flags, fd, baseOffset), 'mmap', `mapping ${length} bytes of fd ${fd}`);
  return new Mapping(addr, baseLen, delta, length, offset, writable, `mapping of fd ${fd} (${length} bytes)`);
}

/** Private anonymous memory with a known address (zero-filled). */
export function mapAnonymous(length: number): Mapping {
  if (!Number.isSafeInteger(length) || length <= 0) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `anonymous mapping length must be a positive integer, got ${length}`);
  }
  const prot = C.PROT_READ | C.PROT_WRITE;
  const addr = check(libc().mmap(0, length, prot, C.MAP_PRIVATE | C.MAP_ANONYMOUS, -1, 0), 'mmap', `allocating ${length} bytes`);
  return new Mapping(addr, length, 0, length, 0, true, `anonymous mapping (${length} bytes)`);
}

/**
 * Takes ownership of memory some other call mapped (e.g. `shmat`), giving it
 * the same lifetime rules as `map()`.
 */
export function adoptMapping(addr: number, length: number, writable: boolean, label: string): Mapping {
  return new Mapping(addr, length, 0, length, 0, writable, label);
}
