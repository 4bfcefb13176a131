// The C snappy library (libsnappy.so.1, Debian's libsnappy1v5), called
// through shm-fd's ffi layer. It takes addresses, so tinyd compresses
// straight out of a client's segment and decodes straight into it: no copy
// of its own and no allocation per call (the napi `snappy` package returns a
// fresh Buffer every time). An ffi call costs a few µs, nothing beside the
// milliseconds a segment-sized chunk takes.
import * as sys from '@shmkit/shm-fd/sys';

import { TinyFileError } from '../errors';

/**
 * Outputs shorter than this are decoded by tinyfile's decoder even when the
 * native codec is there: for them the ffi call costs more than decoding in
 * JavaScript. (Compression always goes through the codec, so that a block
 * is the same however its input is cut.)
 */
export const NATIVE_DECODE_MIN = 8192;

/** snappy-c.h snappy_status. */
const SNAPPY_OK = 0;

/** Where tinyd looks for the library: `TINYFILE_LIBSNAPPY`, else the soname. */
export function libSnappyPath(): string {
  return process.env['TINYFILE_LIBSNAPPY'] || 'libsnappy.so.1';
}

/**
 * One thread's handle on libsnappy, with a native cell for the size_t
 * in/out length argument and staging memory for Buffers that live on the
 * JS heap (they have no stable address). Owns both mappings: close() them.
 */
export class LibSnappy implements Disposable {
  readonly path: string;
  readonly #compress: (...a: number[]) => number;
  readonly #uncompress: (...a: number[]) => number;
  readonly #cell: sys.Mapping;
  readonly #len: BigUint64Array;
  #stageIn: sys.Mapping | undefined;
  #stageOut: sys.Mapping | undefined;

  private constructor(lib: sys.ForeignLibrary) {
    this.path = lib.path;
    this.#compress = lib.func('snappy_compress', 'i32', ['i64', 'i64', 'i64', 'i64']);
    this.#uncompress = lib.func('snappy_uncompress', 'i32', ['i64', 'i64', 'i64', 'i64']);
    const maxLen = lib.func('snappy_max_compressed_length', 'i64', ['i64']);
    // Resolves the symbols now, so a wrong library fails at load, not at the first request.
    if (maxLen(65536) < 65536) throw new Error('snappy_max_compressed_length gave a bound below its input');
    this.#cell = sys.mapAnonymous(4096);
    this.#len = new BigUint64Array(this.#cell.buffer.buffer, this.#cell.buffer.byteOffset, 1);
  }

  /** Loads libsnappy; ERR_TINYFILE_NO_NATIVE_CODEC (with the linker's reason) when it cannot. */
  static load(path = libSnappyPath()): LibSnappy {
    try {
      return new LibSnappy(sys.openForeignLibrary(path));
    } catch (err) {
      const why = (err as Error).message;
      throw new TinyFileError('ERR_TINYFILE_NO_NATIVE_CODEC', `libsnappy did not load (${why.includes(path) ? why : `${path}: ${why}`}); install libsnappy1v5 or set TINYFILE_LIBSNAPPY to its path`, {
        cause: err,
      });
    }
  }

  /** Compresses `len` bytes at `src` into `room` bytes at `dst`; returns the block's length. */
  compressAt(src: number, len: number, dst: number, room: number): number {
    this.#len[0] = BigInt(room);
    const r = this.#compress(src, len, dst, this.#cell.address);
    if (r !== SNAPPY_OK) throw new TinyFileError('ERR_TINYFILE_INTERNAL', `snappy_compress failed (status ${r}) for ${len} bytes into ${room}`);
    return Number(this.#len[0]);
  }

  /**
   * Decodes the whole raw block (length preamble first) of `len` bytes at
   * `src` into `room` bytes at `dst`. Returns the output length, or -1 when
   * the block is invalid or declares more than `room`.
   */
  uncompressAt(src: number, len: number, dst: number, room: number): number {
    this.#len[0] = BigInt(room);
    return this.#uncompress(src, len, dst, this.#cell.address) === SNAPPY_OK ? Number(this.#len[0]) : -1;
  }

  /** `input` → raw block in `out`; Buffers off the mappings go through staging memory. */
  compress(input: Uint8Array, out: Uint8Array): number {
    const src = nativeAddress(input) ?? this.#stage('in', input.length, input);
    const dst = nativeAddress(out);
    if (dst !== undefined) return this.compressAt(src, input.length, dst, out.length);
    const stageAt = this.#stage('out', out.length);
    const n = this.compressAt(src, input.length, stageAt, out.length);
    out.set(this.#stageOut!.buffer.subarray(0, n), 0);
    return n;
  }

  /** `block` (a whole raw block) → `out`; the output length or -1 (see uncompressAt). */
  uncompress(block: Uint8Array, out: Uint8Array): number {
    const src = nativeAddress(block) ?? this.#stage('in', block.length, block);
    const dst = nativeAddress(out);
    if (dst !== undefined) return this.uncompressAt(src, block.length, dst, out.length);
    const stageAt = this.#stage('out', out.length);
    const n = this.uncompressAt(src, block.length, stageAt, out.length);
    if (n > 0) out.set(this.#stageOut!.buffer.subarray(0, n), 0);
    return n;
  }

  #stage(which: 'in' | 'out', bytes: number, fill?: Uint8Array): number {
    let m = which === 'in' ? this.#stageIn : this.#stageOut;
    if (m === undefined || m.length < bytes) {
      m?.close();
      m = sys.mapAnonymous(Math.max(65536, bytes));
      if (which === 'in') this.#stageIn = m;
      else this.#stageOut = m;
    }
    if (fill !== undefined) m.buffer.set(fill, 0);
    return m.address;
  }

  close(): void {
    this.#cell.close();
    this.#stageIn?.close();
    this.#stageOut?.close();
    this.#stageIn = undefined;
    this.#stageOut = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The native address of a view over a shmkit mapping, or undefined for JS heap memory. */
export function nativeAddress(view: Uint8Array): number | undefined {
  return sys.Mapping.of(view) === undefined ? undefined : sys.addressOf(view);
}
