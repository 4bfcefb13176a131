/**
 * The client's copy of a mapping's bytes, in fixed-size pages. Pages are
 * dropped when a NOTIFY says they changed, and evicted least-recently-used
 * past `capacity` bytes. It never holds bytes the server has not confirmed
 * except the client's own writes (write-through, see RemoteMapping.write).
 */
export class PageCache {
  /** page index → bytes; Map order is the LRU order (oldest first). */
  readonly #pages = new Map<number, Buffer>();
  #bytes = 0;

  constructor(
    readonly pageSize: number,
    readonly capacity: number,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#pages.size;
  }

  has(index: number): boolean {
    return this.#pages.has(index);
  }

  /** The page, marked most recently used. */
  get(index: number): Buffer | undefined {
    const p = this.#pages.get(index);
    if (p !== undefined) {
      this.#pages.delete(index);
      this.#pages.set(index, p);
    }
    return p;
  }

  /** Stores a copy of `bytes` (one page, or a short last page). */
  set(index: number, bytes: Buffer): void {
    const copy = Buffer.allocUnsafe(bytes.length);
    bytes.copy(copy);
    this.adopt(index, copy);
  }

  /** Stores `bytes` itself; the caller gives up every other reference that writes to it. */
  adopt(index: number, bytes: Buffer): void {
    if (this.capacity < this.pageSize) return;
    this.delete(index);
    const copy = bytes;
    this.#pages.set(index, copy);
    this.#bytes += copy.length;
    for (const [k, v] of this.#pages) {
      if (this.#bytes <= this.capacity) break;
      this.#pages.delete(k);
      this.#bytes -= v.length;
    }
  }

  delete(index: number): void {
    const p = this.#pages.get(index);
    if (p === undefined) return;
    this.#pages.delete(index);
    this.#bytes -= p.length;
  }

  /** Drops every page overlapping bytes [start, end). Returns how many were dropped. */
  invalidate(start: number, end: number): number {
    if (end <= start) return 0;
    let n = 0;
    const first = Math.floor(start / this.pageSize);
    const last = Math.floor((end - 1) / this.pageSize);
    if (last - first + 1 > this.#pages.size) {
      for (const k of [...this.#pages.keys()]) {
        if (k >= first && k <= last) {
          this.delete(k);
          n++;
        }
      }
      return n;
    }
    for (let i = first; i <= last; i++) {
      if (this.#pages.has(i)) {
        this.delete(i);
        n++;
      }
    }
    return n;
  }

  /** Copies `data` (at byte `at`) into the pages that are cached; other pages are left absent. */
  patch(at: number, data: Uint8Array): void {
    const end = at + data.length;
    for (let i = Math.floor(at / this.pageSize); i * this.pageSize < end; i++) {
      const p = this.#pages.get(i);
      if (p === undefined) continue;
      const pageStart = i * this.pageSize;
      const from = Math.max(at, pageStart);
      const to = Math.min(end, pageStart + p.length);
      if (to > from) p.set(data.subarray(from - at, to - at), from - pageStart);
    }
  }

  clear(): void {
    this.#pages.clear();
    this.#bytes = 0;
  }
}
