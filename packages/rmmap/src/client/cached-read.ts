import * as msg from '../messages';
import type { RawFrame } from '../parser';
import { copyInto } from './copy-into';
import type { MappingState } from './mapping-state';
import { decodeReadReply } from './replies';

/** Largest READ a prefetch sends (several moderate READs rather than one huge one). */
const PREFETCH_RUN = 1024 * 1024;

interface Run {
  start: number;
  data: Buffer;
}

/**
 * Reads through the page cache: cached pages are copied, missing ones are
 * fetched in runs of consecutive pages (each READ at most one frame) and
 * land in the cache; a read that needs pages already being fetched waits
 * for that READ instead of sending another.
 */
export class CachedReads {
  readonly #state: MappingState;
  /** page index → the READ fetching it. */
  readonly #inflight = new Map<number, Promise<Run>>();

  constructor(state: MappingState) {
    this.#state = state;
  }

  clear(): void {
    this.#inflight.clear();
  }

  /** Copies [offset, end) into `out`, from the cache or from the server. */
  async fill(offset: number, end: number, out: Buffer): Promise<void> {
    const cache = this.#state.cache;
    const P = cache.pageSize;
    const waits: Promise<void>[] = [];
    const copyRun = (run: Run): void => {
      copyInto(out, offset, end, run.start, run.data);
    };
    const maxPages = Math.max(1, Math.floor(this.#state.maxChunk() / P));
    const last = Math.floor((end - 1) / P);
    let i = Math.floor(offset / P);
    while (i <= last) {
      const page = cache.get(i);
      if (page !== undefined) {
        copyInto(out, offset, end, i * P, page);
        i++;
        continue;
      }
      const pending = this.#inflight.get(i);
      if (pending !== undefined) {
        waits.push(pending.then(copyRun));
        // A run covers consecutive pages; skip the ones it also covers.
        let j = i + 1;
        while (j <= last && this.#inflight.get(j) === pending) j++;
        i = j;
        continue;
      }
      let j = i + 1;
      while (j <= last && j - i < maxPages && !cache.has(j) && !this.#inflight.has(j)) j++;
      waits.push(this.#fetch(i, j).then(copyRun));
      i = j;
    }
    await Promise.all(waits);
  }

  /** Starts fetching the pages of [from, to) that are neither cached nor being fetched. */
  prefetch(from: number, to: number): void {
    const cache = this.#state.cache;
    const P = cache.pageSize;
    // Several moderate READs rather than one huge one: the first bytes arrive
    // sooner and the server's copy overlaps with our receiving.
    const maxPages = Math.max(1, Math.floor(Math.min(this.#state.maxChunk(), PREFETCH_RUN) / P));
    const last = Math.floor((to - 1) / P);
    // Start at the page after the one holding `from` if that one is already being read.
    let i = Math.floor(from / P);
    while (i <= last) {
      if (cache.has(i) || this.#inflight.has(i)) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j <= last && j - i < maxPages && !cache.has(j) && !this.#inflight.has(j)) j++;
      this.#fetch(i, j).catch(() => {});
      i = j;
    }
  }

  /** One READ of pages [first, end); the data also lands in the cache. */
  #fetch(first: number, endPage: number): Promise<Run> {
    const state = this.#state;
    const P = state.cache.pageSize;
    const start = first * P;
    const stop = Math.min(endPage * P, state.length);
    let run: Run | undefined;
    // Everything that touches the cache happens in settle(), in step with the
    // frames: a NOTIFY right behind this DATA must find the pages in place.
    const settle = (reply: RawFrame | undefined): void => {
      for (let i = first; i < endPage; i++) if (this.#inflight.get(i) === p) this.#inflight.delete(i);
      if (reply === undefined) return;
      const { version, data } = decodeReadReply(reply, stop - start);
      state.seeVersion(version);
      // Writes still unacknowledged were sent after this READ, so the server
      // applies them after it: lay them over the snapshot.
      state.writes.overlay(data, start, stop);
      if (!state.closing) {
        for (let i = first; i < endPage && i * P < stop; i++) state.cache.adopt(i, data.subarray(i * P - start, Math.min(stop, (i + 1) * P) - start));
      }
      run = { start, data };
    };
    const p: Promise<Run> = state.conn.request((id) => msg.encodeRead(id, state.wireId, start, stop), { settle }).then(() => run as Run);
    for (let i = first; i < endPage; i++) this.#inflight.set(i, p);
    return p;
  }
}
