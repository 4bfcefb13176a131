const POOL_MAX = 64;

/**
 * Recycled read-ahead buffers of a readInto() stream, so that such a
 * stream allocates nothing per read. Bounded: at most POOL_MAX buffers and
 * about two read-ahead windows of bytes.
 */
export class BufferPool {
  readonly #buffers: Buffer[] = [];

  /**
   * @param minBytes Smaller backing stores are never pooled: they may be a slab Node shares with other Buffers.
   * @param readahead The read-ahead window the pool serves.
   */
  constructor(
    readonly minBytes: number,
    readonly readahead: number,
  ) {}

  /** A buffer of at least `length` bytes from the pool, or a new one that will join it. */
  take(length: number): Buffer {
    for (let i = this.#buffers.length - 1; i >= 0; i--) {
      const b = this.#buffers[i] as Buffer;
      if (b.length >= length) {
        this.#buffers.splice(i, 1);
        return b;
      }
    }
    // Its own backing store, so the whole buffer can be recovered from a payload view.
    return Buffer.allocUnsafeSlow(length);
  }

  /** Returns the buffer a pooled payload lives in. */
  recycle(payload: Buffer): void {
    const whole = payload.buffer;
    // Only standalone backing stores: never a slab Node shares with other Buffers.
    if (whole.byteLength < this.minBytes || this.#buffers.length >= POOL_MAX) return;
    let bytes = whole.byteLength;
    for (const b of this.#buffers) bytes += b.length;
    if (bytes > 2 * this.readahead + whole.byteLength) return;
    this.#buffers.push(Buffer.from(whole, 0, whole.byteLength));
  }

  clear(): void {
    this.#buffers.length = 0;
  }
}
