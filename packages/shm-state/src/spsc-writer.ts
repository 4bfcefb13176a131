// The producer's side of an SpscQueue: writing records into the ring and
// publishing them by storing tail, one message at a time, in runs, or held
// back under cork(). SpscQueue checks the handle is open and passes the
// header words in.
import { ShmStateError } from './errors';
import type { Notifier } from './notifier';
import { corruptPositions, W_HEAD, W_TAIL } from './spsc-layout';

/** How many pending bytes a corked producer publishes at (at most a quarter of the ring). */
const CORK_PUBLISH_BYTES = 64 * 1024;

export class SpscWriter {
  readonly #capacity: number;
  readonly #mask: number;
  readonly #maxMessage: number;
  readonly #data: Uint8Array;
  readonly #words: Int32Array;
  readonly #notEmpty: Notifier;
  /** A corked producer publishes once this many bytes are pending. */
  readonly #publishEvery: number;
  // The consumer's position as last read. It only grows, so a stale copy
  // only understates the room; it is re-read from shared memory only when
  // it says no, which keeps the producer off the consumer's cache line on
  // most pushes.
  #headSeen = 0;
  /** Bytes of records written past the published tail and not yet published (a corked producer's). */
  #pendingBytes = 0;
  /** The published tail those bytes follow; meaningful while #pendingBytes > 0. */
  #publishedTail = 0;
  /** cork() calls not yet matched by uncork(). */
  #corks = 0;

  /** `data`: the ring's bytes; `words`: the same memory as int32s; `notEmpty`: rung on publishing. */
  constructor(data: Uint8Array, words: Int32Array, notEmpty: Notifier) {
    this.#capacity = data.length;
    this.#mask = data.length - 1;
    this.#maxMessage = data.length - 4;
    this.#data = data;
    this.#words = words;
    this.#notEmpty = notEmpty;
    this.#publishEvery = Math.min(CORK_PUBLISH_BYTES, data.length >>> 2);
  }

  /** SpscQueue.tryPush() on the header words `h`. */
  tryPush(h: Int32Array, message: Uint8Array): boolean {
    const len = this.#checkSize(message);
    const need = 4 + ((len + 3) & ~3);
    if (this.#corks > 0) return this.#pushCorked(h, message, len, need);
    // The producer owns tail; head only grows, so the room seen here can only increase.
    const tail = Atomics.load(h, W_TAIL);
    if (this.#capacity - ((tail - this.#headSeen) >>> 0) < need && this.#roomAfter(h, tail) < need) return false;
    this.#writeRecord(tail, message, len);
    // Publish: everything written above happens-before a consumer's load of tail.
    Atomics.store(h, W_TAIL, (tail + need) | 0);
    this.#notEmpty.notify();
    return true;
  }

  /** tryPush() under cork(): written after what is pending, published later. */
  #pushCorked(h: Int32Array, message: Uint8Array, len: number, need: number): boolean {
    if (this.#pendingBytes === 0) this.#publishedTail = Atomics.load(h, W_TAIL);
    const tail = (this.#publishedTail + this.#pendingBytes) | 0;
    if (this.#capacity - ((tail - this.#headSeen) >>> 0) < need && this.#roomAfter(h, this.#publishedTail) - this.#pendingBytes < need) {
      // Only what is published can be read and make room: publish before anyone waits for it.
      this.publish(h);
      return false;
    }
    this.#writeRecord(tail, message, len);
    this.#pendingBytes += need;
    if (this.#pendingBytes >= this.#publishEvery) this.publish(h);
    return true;
  }

  /** SpscQueue.tryPushMany() on the header words `h`. */
  tryPushMany(h: Int32Array, messages: readonly Uint8Array[], start: number, end: number): number {
    // Under cork(), after what is pending; `first` is the published tail either way.
    const first = this.#pendingBytes > 0 ? this.#publishedTail : Atomics.load(h, W_TAIL);
    let tail = (first + this.#pendingBytes) | 0;
    let room = this.#capacity - ((tail - this.#headSeen) >>> 0);
    let i = start;
    try {
      for (; i < end; i++) {
        const message = messages[i] as Uint8Array;
        const len = this.#checkSize(message);
        const need = 4 + ((len + 3) & ~3);
        if (room < need) {
          // Room is counted from the published tail: this run's records are not the consumer's yet.
          room = this.#roomAfter(h, first) - ((tail - first) >>> 0);
          if (room < need) break;
        }
        this.#writeRecord(tail, message, len);
        tail = (tail + need) | 0;
        room -= need;
      }
    } finally {
      this.#publishedTail = first;
      this.#pendingBytes = (tail - first) >>> 0;
      // Corked, a run stays pending unless it filled the ring (the caller may wait for room next).
      if (this.#corks === 0 || this.#pendingBytes >= this.#publishEvery || i < end) this.publish(h);
    }
    return i - start;
  }

  cork(): void {
    this.#corks++;
  }

  /** The last uncork() publishes what is pending; one without a cork() does nothing. */
  uncork(h: Int32Array): void {
    if (this.#corks > 0 && --this.#corks === 0) this.publish(h);
  }

  get corked(): number {
    return this.#corks;
  }

  /** Publishes the pending records, if any, and wakes the consumer. */
  publish(h: Int32Array): void {
    if (this.#pendingBytes === 0) return;
    Atomics.store(h, W_TAIL, (this.#publishedTail + this.#pendingBytes) | 0);
    this.#pendingBytes = 0;
    this.#notEmpty.notify();
  }

  #checkSize(message: Uint8Array): number {
    const len = message.byteLength;
    if (len > this.#maxMessage) {
      throw new ShmStateError('ERR_SHM_STATE_MESSAGE_TOO_LARGE', `a ${len}-byte message does not fit a queue whose largest message is ${this.#maxMessage} bytes`);
    }
    return len;
  }

  /** Free bytes behind the published `tail`, from a fresh load of head. */
  #roomAfter(h: Int32Array, tail: number): number {
    this.#headSeen = Atomics.load(h, W_HEAD);
    const used = (tail - this.#headSeen) >>> 0;
    // Both positions are written by a peer: a gap the ring cannot hold
    // would otherwise read as "full" forever.
    if (used > this.#capacity || (used & 3) !== 0) throw corruptPositions(this.#capacity, tail, this.#headSeen);
    return this.#capacity - used;
  }

  /** Writes one record at `tail`, unpublished. */
  #writeRecord(tail: number, message: Uint8Array, len: number): void {
    const pos = tail & this.#mask;
    // A plain store, like the payload's: the atomic store of tail that
    // publishes the record orders both (an atomic one here would only add a
    // full fence).
    this.#words[pos >>> 2] = len;
    const start = (pos + 4) & this.#mask;
    const first = this.#capacity - start;
    if (len <= first) {
      this.#data.set(message, start);
    } else {
      this.#data.set(message.subarray(0, first), start);
      this.#data.set(message.subarray(first), 0);
    }
  }
}
