import { BufferPool } from './buffer-pool';
import { readRange } from './direct-read';
import type { MappingState } from './mapping-state';

/** Sequential reads at least this large stream past the page cache (see ReadAhead). */
export const STREAM_MIN = 256 * 1024;

interface StreamEntry {
  length: number;
  data: Promise<Buffer>;
  /** The bytes sit in a recycled buffer that goes back to the pool once copied out. */
  pooled: boolean;
}

/**
 * A stream of large sequential reads bypasses the page cache: each read's
 * successors are requested ahead of time, and the reply payload is handed
 * to the caller as is (no copy into and out of cache pages). NOTIFYs and
 * our own writes drop overlapping read-ahead (drop()), so a read never
 * returns bytes older than a change it was told about or made itself.
 */
export class ReadAhead {
  readonly #state: MappingState;
  readonly #window: number;
  /** start offset → the next read's bytes. */
  readonly #stream = new Map<number, StreamEntry>();
  /** Recycled read-ahead buffers of a readInto() stream. */
  readonly #pool: BufferPool;

  /** @param window Bytes requested ahead of each read. */
  constructor(state: MappingState, window: number) {
    this.#state = state;
    this.#window = window;
    this.#pool = new BufferPool(STREAM_MIN, window);
  }

  /** Reads [offset, end); `pooled`: the caller copies the bytes out and recycle()s them. */
  async read(offset: number, end: number, pooled: boolean): Promise<{ data: Buffer; pooled: boolean }> {
    const len = end - offset;
    const ahead = this.#stream.get(offset);
    let first: StreamEntry;
    if (ahead !== undefined && ahead.length === len) {
      this.#stream.delete(offset);
      first = ahead;
    } else {
      this.#stream.clear();
      first = this.#entry(offset, end, pooled);
    }
    const depth = Math.max(1, Math.floor(this.#window / len));
    for (let k = 0, at = end; k < depth && at < this.#state.length; k++, at += len) {
      if (this.#stream.has(at)) continue;
      const stop = Math.min(this.#state.length, at + len);
      const e = this.#entry(at, stop, pooled);
      e.data.catch(() => {}); // surfaced to the read that consumes it
      this.#stream.set(at, e);
    }
    return { data: await first.data, pooled: first.pooled };
  }

  /** Returns the buffer a pooled payload lives in to the pool (not once the mapping closes). */
  recycle(payload: Buffer): void {
    if (this.#state.closing) return;
    this.#pool.recycle(payload);
  }

  /** Drops read-ahead overlapping [start, end). */
  drop(start: number, end: number): void {
    for (const [at, e] of this.#stream) if (at < end && start < at + e.length) this.#stream.delete(at);
  }

  /** Drops all read-ahead (a read that is not the stream's next). */
  clear(): void {
    if (this.#stream.size > 0) this.#stream.clear();
  }

  /** Drops all read-ahead and the pooled buffers. */
  release(): void {
    this.#stream.clear();
    this.#pool.clear();
  }

  #entry(start: number, stop: number, pooled: boolean): StreamEntry {
    const usePool = pooled && stop - start <= this.#state.maxChunk();
    return { length: stop - start, data: readRange(this.#state, start, stop, usePool ? this.#pool : undefined), pooled: usePool };
  }
}
