import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/**
 * u64 words of a file's memory, read and written through Atomics when the
 * memory is 8-byte aligned (every mapping is). The invariant every shared
 * word relies on: another process may store to it at any time, so each
 * access is one indivisible 64-bit load or store, never two halves.
 *
 * Unaligned memory (a Buffer sliced from Node's pool) cannot be shared with
 * another process; it falls back to DataView in native byte order.
 */
export class Words {
  readonly count: number;
  readonly #atomic: BigUint64Array | null;
  readonly #view: DataView | null;

  constructor(buf: Uint8Array) {
    this.count = Math.floor(buf.length / 8);
    if (buf.byteOffset % 8 === 0) {
      this.#atomic = new BigUint64Array(buf.buffer, buf.byteOffset, this.count);
      this.#view = null;
    } else {
      this.#atomic = null;
      this.#view = new DataView(buf.buffer, buf.byteOffset, this.count * 8);
    }
  }

  /** The aligned view, for hot paths that need it (the Writer). */
  get atomic(): BigUint64Array | null {
    return this.#atomic;
  }

  load(i: number): bigint {
    if (this.#atomic !== null) return Atomics.load(this.#atomic, i);
    return (this.#view as DataView).getBigUint64(i * 8, LITTLE);
  }

  store(i: number, v: bigint): void {
    if (this.#atomic !== null) Atomics.store(this.#atomic, i, v);
    else (this.#view as DataView).setBigUint64(i * 8, v, LITTLE);
  }
}
