import { ShmStateCorruptError, ShmStateError } from './errors';

/** Anything structures can live in: a Buffer over a mapping, or any Uint8Array. */
export type Memory = Uint8Array;

/**
 * An Int32Array over `bytes` bytes at `offset` of `memory`, for Atomics.
 * Checks bounds and alignment first: a misaligned view would throw a
 * RangeError deep inside a constructor, and an out-of-range one would not be
 * caught at all for subarrays.
 */
export function int32At(memory: Memory, offset: number, bytes: number, what: string): Int32Array {
  checkRegion(memory, offset, bytes, 4, what);
  return new Int32Array(memory.buffer, memory.byteOffset + offset, bytes >>> 2);
}

export function checkRegion(memory: Memory, offset: number, bytes: number, align: number, what: string): void {
  if (!(memory instanceof Uint8Array)) {
    throw new ShmStateError('ERR_INVALID_ARG_TYPE', `${what} needs a Buffer or Uint8Array over shared memory`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ShmStateError('ERR_OUT_OF_RANGE', `${what}: offset must be a non-negative integer, got ${offset}`);
  }
  if ((memory.byteOffset + offset) % align !== 0) {
    throw new ShmStateError('ERR_SHM_STATE_ALIGNMENT', `${what}: offset ${offset} is not ${align}-byte aligned in its buffer; use a multiple of 64`);
  }
  if (offset + bytes > memory.byteLength) {
    throw new ShmStateError(
      'ERR_SHM_STATE_TOO_SMALL',
      `${what} needs ${bytes} bytes at offset ${offset}, but the buffer has only ${memory.byteLength} bytes`,
    );
  }
}

/** Rounds up to a multiple of `n` (a power of two). */
export function alignUp(x: number, n: number): number {
  return (x + n - 1) & ~(n - 1);
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Four ASCII letters as a little-endian int32, for header magics. */
export function fourcc(s: string): number {
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) | 0;
}

/**
 * Checks the two words every structure's header starts with: word 0 its
 * magic, word 1 its layout version. Each is loaded once (a peer may write
 * them at any time); throws ShmStateCorruptError naming `where`.
 */
export function checkHeaderStart(h: Int32Array, where: string, what: string, magic: number, version: number): void {
  if (Atomics.load(h, 0) !== magic) throw new ShmStateCorruptError(where, `no ${what} header (bad magic)`);
  const found = Atomics.load(h, 1);
  if (found !== version) throw new ShmStateCorruptError(where, `unsupported layout version ${found} (this library reads ${version})`);
}
