import { ShmClosedError } from '@shmkit/shm-fd';

import { batchSize, isClosedError, type BatchOptions } from './batch-options';
import { ShmStateCorruptWordError, ShmStateError } from './errors';
import { viewOf } from './fast-buffers';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import type { AllowPeer } from './doorbell';
import { Notifier, type SyncWaitOptions, type WaitOptions } from './notifier';
import { checkRegion, int32At, type Memory } from './memory-region';
import { checkCapacity, corruptPositions, HEADER, initHeader, largestPowerOfTwo, MAX_CAPACITY, MIN_CAPACITY, NOT_EMPTY, NOT_FULL, readHeader, W_HEAD, W_TAIL } from './spsc-layout';
import { SpscWriter } from './spsc-writer';

export interface SpscCreateOptions {
  /** Byte offset of the queue in `memory` (multiple of 8; 64 recommended). Default 0. */
  offset?: number;
  /** Ring size in bytes, a power of two ≥ 64. Default: the largest that fits. */
  capacity?: number;
  /** Which other processes this handle's wakeups may ring (see `NotifierOptions.allowPeer`). */
  allowPeer?: AllowPeer;
}

export interface SpscOpenOptions {
  offset?: number;
  /** Which other processes this handle's wakeups may ring (see `NotifierOptions.allowPeer`). */
  allowPeer?: AllowPeer;
}

/**
 * A single-producer single-consumer queue of variable-length byte messages
 * in shared memory. Exactly one process (or thread) pushes and one pops at a
 * time; who they are may change between runs.
 *
 * Layout: a 704-byte header (magic, version, capacity, tail, head, two
 * Notifiers), then a ring of `capacity` bytes holding records
 * `[u32 length][payload, padded to 4]`. A record may wrap around the end of
 * the ring, so any message up to `capacity - 4` bytes fits.
 *
 * Invariants: `head ≤ tail ≤ head + capacity` (mod 2^32); bytes in
 * [head, tail) are complete records. The producer writes a record, then
 * publishes it by storing `tail`; the consumer copies it out, then releases
 * it by storing `head`.
 *
 * After a SIGKILL: a producer killed inside push leaves `tail` unmoved, so the
 * half-written record is invisible and simply overwritten by the next
 * push; a consumer killed inside pop leaves `head` unmoved, so the message is
 * delivered again to the next consumer (at-least-once). No repair is needed;
 * `open()` validates the header and the positions.
 */
export class SpscQueue {
  readonly capacity: number;
  /** Largest message in bytes. */
  readonly maxMessage: number;
  /** Bytes this queue occupies in its memory (header + ring). */
  readonly byteLength: number;
  readonly #mask: number;
  #h: Int32Array | undefined;
  readonly #mapping: ClosedProbe | undefined;
  #words: Int32Array;
  #data: Uint8Array;
  /** `#data` as a Buffer, for drainRecords(). */
  readonly #ring: Buffer;
  readonly #notEmpty: Notifier;
  readonly #notFull: Notifier;
  // The producer's position as last read. Positions only grow, so a stale
  // copy only understates the data; it is re-read from shared memory only
  // when it says no, which keeps the consumer off the producer's cache line
  // on most operations (the writer does the same with head).
  #tailSeen = 0;
  /** The producer's side: writing records and publishing them (cork() included). */
  readonly #writer: SpscWriter;
  /** Closed because the mapping went away, not by close(): iteration then throws. */
  #mappingLost = false;

  private constructor(memory: Memory, offset: number, capacity: number, allowPeer?: AllowPeer) {
    this.capacity = capacity;
    this.maxMessage = capacity - 4;
    this.byteLength = HEADER + capacity;
    this.#mask = capacity - 1;
    this.#h = int32At(memory, offset, HEADER, 'SpscQueue');
    this.#mapping = mappingOf(memory);
    this.#data = memory.subarray(offset + HEADER, offset + HEADER + capacity);
    this.#words = new Int32Array(this.#data.buffer, this.#data.byteOffset, capacity >>> 2);
    this.#ring = Buffer.from(this.#data.buffer, this.#data.byteOffset, capacity);
    this.#notEmpty = new Notifier(memory, offset + NOT_EMPTY, { allowPeer });
    this.#notFull = new Notifier(memory, offset + NOT_FULL, { allowPeer });
    this.#writer = new SpscWriter(this.#data, this.#words, this.#notEmpty);
  }

  /** Bytes needed for a queue whose ring holds `capacity` bytes. */
  static byteLengthFor(capacity: number): number {
    checkCapacity(capacity);
    return HEADER + capacity;
  }

  /** Initialises an empty queue at `offset`, discarding whatever was there. */
  static create(memory: Memory, options: SpscCreateOptions = {}): SpscQueue {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, HEADER + MIN_CAPACITY, 8, 'SpscQueue');
    const capacity = options.capacity ?? largestPowerOfTwo(Math.min(MAX_CAPACITY, memory.byteLength - offset - HEADER));
    checkCapacity(capacity);
    checkRegion(memory, offset, HEADER + capacity, 8, 'SpscQueue');
    initHeader(memory, offset, capacity);
    return new SpscQueue(memory, offset, capacity, options.allowPeer);
  }

  /** Attaches to a queue created earlier (by any process); validates its header. */
  static open(memory: Memory, options: SpscOpenOptions = {}): SpscQueue {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, HEADER, 8, 'SpscQueue');
    const capacity = readHeader(memory, offset);
    return new SpscQueue(memory, offset, capacity, options.allowPeer);
  }

  /** Bytes of queued records (headers and padding included). */
  get bytesUsed(): number {
    const h = this.#header();
    return (Atomics.load(h, W_TAIL) - Atomics.load(h, W_HEAD)) >>> 0;
  }

  get isEmpty(): boolean {
    return this.bytesUsed === 0;
  }

  /** Appends a copy of `message`; false when the queue lacks room right now. */
  tryPush(message: Uint8Array): boolean {
    return this.#writer.tryPush(this.#header(), message);
  }

  /**
   * Holds back publishing: until the matching `uncork()`, pushed messages are
   * written into the ring but the consumer sees them only once 64 KiB (a
   * quarter of the ring, if less) have piled up, when the ring has no room
   * for the next one, at `uncork()` or at `close()`. Like a corked stream,
   * and for the same reason: one store and one notify per run instead of
   * per message, and a consumer that reads long runs instead of chasing the
   * producer record by record. Calls nest (each `cork()` needs its
   * `uncork()`). Messages not yet published are lost if the producer dies,
   * as data buffered in a stream is.
   */
  cork(): void {
    this.#header();
    this.#writer.cork();
  }

  /** Ends a `cork()`; the last one publishes everything pending and wakes the consumer. */
  uncork(): void {
    this.#writer.uncork(this.#header());
  }

  /** `cork()` calls not yet matched by `uncork()` (Node's `writableCorked`). */
  get corked(): number {
    return this.#writer.corked;
  }

  /**
   * Appends copies of `messages[start]` up to (not including) `messages[end]`
   * while they fit; returns how many were appended, 0 when the first does
   * not fit right now. The whole run is published with one store and one
   * notify — the fastest way to write a stream of small messages. A message
   * larger than `maxMessage` throws ERR_SHM_STATE_MESSAGE_TOO_LARGE; the ones
   * before it are appended.
   */
  tryPushMany(messages: readonly Uint8Array[], start = 0, end = messages.length): number {
    return this.#writer.tryPushMany(this.#header(), messages, start, end);
  }

  /** Removes the oldest message and returns a copy; null when empty. */
  tryPop(): Buffer | null {
    const h = this.#header();
    const head = Atomics.load(h, W_HEAD);
    const avail = this.#available(h, head);
    if (avail === 0) return null;
    const len = this.#recordLength(head, avail);
    const out = Buffer.allocUnsafe(len);
    this.#copyOut(head, len, out);
    Atomics.store(h, W_HEAD, (head + 4 + ((len + 3) & ~3)) | 0);
    this.#notFull.notify();
    return out;
  }

  /**
   * Removes the oldest message into `target`; returns its length, or -1 when
   * empty. A message longer than `target` stays queued and throws
   * ERR_SHM_STATE_BUFFER_TOO_SMALL (see `peekLength()`).
   */
  tryPopInto(target: Uint8Array): number {
    const h = this.#header();
    const head = Atomics.load(h, W_HEAD);
    const avail = this.#available(h, head);
    if (avail === 0) return -1;
    const len = this.#recordLength(head, avail);
    if (len > target.byteLength) {
      throw new ShmStateError('ERR_SHM_STATE_BUFFER_TOO_SMALL', `the next message has ${len} bytes but the target holds only ${target.byteLength}`);
    }
    this.#copyOut(head, len, target);
    Atomics.store(h, W_HEAD, (head + 4 + ((len + 3) & ~3)) | 0);
    this.#notFull.notify();
    return len;
  }

  /**
   * Consumes up to `max` queued messages in one go, calling `onMessage` with
   * a view of each — zero-copy unless the record wraps around the ring end.
   * The view is valid only during the call (the space is released after the
   * batch). Returns how many were consumed. Releases the space and notifies
   * the producer once per batch; `drainRecords()` does the same without a
   * Buffer per message, the fastest way to read a stream. If `onMessage`
   * throws, the messages before it stay consumed and that one stays queued.
   */
  drain(onMessage: (message: Buffer) => void, max = Infinity): number {
    const ring = this.#ring;
    // Not viewOf(): with views that cheap, a drain()/popSync() consumer
    // keeps up with a producer pushing one message at a time, reads each
    // record and the tail while they are being written, and the cache lines
    // moving between the cores halved the stream's rate (bench 1-queue).
    return this.drainRecords((data, offset, length) => onMessage(data === ring ? data.subarray(offset, offset + length) : data), max);
  }

  /**
   * drain() without an object per message: `onRecord(data, offset, length)`
   * is called with the ring's own bytes and where the message lies in them
   * (a record that wraps around the ring end is first copied to a buffer of
   * its own, at offset 0). `data` is valid only during the call, and only
   * [offset, offset + length) is the message. Returns how many were
   * consumed; space is released once per batch, as with drain().
   */
  drainRecords(onRecord: (data: Buffer, offset: number, length: number) => void, max = Infinity): number {
    const h = this.#header();
    let head = Atomics.load(h, W_HEAD);
    let avail = this.#available(h, head);
    let n = 0;
    try {
      while (avail > 0 && n < max) {
        const len = this.#recordLength(head, avail);
        const start = (head + 4) & this.#mask;
        if (len <= this.capacity - start) {
          onRecord(this.#ring, start, len);
        } else {
          const copy = Buffer.allocUnsafe(len);
          this.#copyOut(head, len, copy);
          onRecord(copy, 0, len);
        }
        const size = 4 + ((len + 3) & ~3);
        head = (head + size) | 0;
        avail -= size;
        n++;
      }
    } finally {
      if (n > 0) {
        Atomics.store(h, W_HEAD, head);
        this.#notFull.notify();
      }
    }
    return n;
  }

  /** Length of the oldest message, or -1 when empty. */
  peekLength(): number {
    const h = this.#header();
    const head = Atomics.load(h, W_HEAD);
    const avail = this.#available(h, head);
    return avail === 0 ? -1 : this.#recordLength(head, avail);
  }

  /** Blocks until pushed; false on timeout. */
  pushSync(message: Uint8Array, options: SyncWaitOptions = {}): boolean {
    if (this.tryPush(message)) return true;
    return this.#notFull.waitSync(() => (this.tryPush(message) ? true : undefined), options) === true;
  }

  /** Blocks until a message arrives; null on timeout. */
  popSync(options: SyncWaitOptions = {}): Buffer | null {
    const first = this.tryPop();
    if (first !== null) return first;
    return this.#notEmpty.waitSync(() => this.tryPop() ?? undefined, options) ?? null;
  }

  /** Resolves true once pushed, false on timeout; never blocks the event loop. */
  async push(message: Uint8Array, options: WaitOptions = {}): Promise<boolean> {
    return (await this.#notFull.wait(() => (this.tryPush(message) ? true : undefined), options)) === true;
  }

  /** Resolves with the next message, or null on timeout; never blocks the event loop. */
  pop(options: WaitOptions = {}): Promise<Buffer | null> {
    return this.#notEmpty.wait(this.#popped, options, null);
  }

  readonly #popped = (): Buffer | undefined => this.tryPop() ?? undefined;

  /**
   * Resolves true once a message is waiting, false on timeout, without taking
   * it: the caller then takes it with tryPop() in the same synchronous step.
   * Unlike `await pop()`, a pending wait holds no message, so the thread may
   * also use popSync() meanwhile (see the README).
   */
  async waitNotEmpty(options: WaitOptions = {}): Promise<boolean> {
    return (await this.#notEmpty.wait(() => (this.peekLength() !== -1 ? true : undefined), options)) === true;
  }

  /**
   * Async iteration in batches: `for await (const batch of q.batches())`
   * yields arrays of zero-copy views of every message waiting (up to
   * `maxMessages`), waiting (`await`, never blocking the event loop) when the
   * queue is empty. The views are valid only until the loop body ends: then
   * the whole batch is released to the producer with one store and one
   * notify — whether the body ended normally, by `break` or by a throw. A
   * handle closed meanwhile releases nothing (the batch is delivered again to
   * the next consumer, as after a crash).
   *
   * The loop ends when this handle is closed (also from inside the loop);
   * `signal` makes it throw an AbortError; a mapping closed under it throws
   * ERR_SHM_CLOSED.
   */
  async *batches(options: BatchOptions = {}): AsyncGenerator<Buffer[], void, undefined> {
    const max = batchSize(options);
    const waitOptions: WaitOptions = { signal: options.signal, spinUs: options.spinUs };
    const ready = () => (this.peekLength() !== -1 ? true : undefined);
    for (;;) {
      if (this.#h === undefined) return;
      try {
        await this.#notEmpty.wait(ready, waitOptions);
      } catch (err) {
        // Closing the handle is how a consumer loop is told to stop.
        if (this.#h === undefined && !this.#mappingLost && isClosedError(err)) return;
        throw err;
      }
      const batch: Buffer[] = [];
      const h = this.#header();
      const end = this.#collect(h, batch, max);
      try {
        yield batch;
      } finally {
        if (this.#h !== undefined && this.#mapping?.closed !== true) {
          Atomics.store(h, W_HEAD, end);
          this.#notFull.notify();
        }
      }
    }
  }

  /** `for await (const batch of q)`: `batches()` with its defaults. */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer[], void, undefined> {
    return this.batches();
  }

  /**
   * Detaches this handle: pending async waits reject with ERR_SHM_CLOSED and
   * every method throws it. The queue in memory is untouched.
   */
  close(): void {
    if (this.#h === undefined) return;
    // A corked producer's pending records are published, as end() flushes a corked stream.
    if (this.#mapping?.closed !== true) this.#writer.publish(this.#h);
    this.#h = undefined;
    const err = new ShmClosedError('the SpscQueue');
    this.#notEmpty.cancelAll(err);
    this.#notFull.cancelAll(err);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #header(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the SpscQueue');
    if (this.#mapping?.closed === true) {
      this.#mappingLost = true;
      this.close();
      throw new ShmClosedError('the mapping under this SpscQueue');
    }
    return this.#h;
  }

  /**
   * Views of up to `max` complete records from head, not released; returns
   * the position after the last one. Each length is checked as it is read.
   */
  #collect(h: Int32Array, into: Buffer[], max: number): number {
    let head = Atomics.load(h, W_HEAD);
    let avail = this.#available(h, head);
    const data = this.#data;
    while (avail > 0 && into.length < max) {
      const len = this.#recordLength(head, avail);
      const start = (head + 4) & this.#mask;
      if (len <= this.capacity - start) {
        into.push(viewOf(data.buffer, data.byteOffset + start, len));
      } else {
        const copy = Buffer.allocUnsafe(len);
        this.#copyOut(head, len, copy);
        into.push(copy);
      }
      const size = 4 + ((len + 3) & ~3);
      head = (head + size) | 0;
      avail -= size;
    }
    return head;
  }

  #available(h: Int32Array, head: number): number {
    let avail = (this.#tailSeen - head) >>> 0;
    // Also re-read when the cached tail is behind head (another handle popped).
    if (avail === 0 || avail > this.capacity) {
      this.#tailSeen = Atomics.load(h, W_TAIL);
      avail = (this.#tailSeen - head) >>> 0;
      // Bytes past the ring's size are not records: they would be read as
      // up to capacity/4 phantom messages per lap.
      if (avail > this.capacity || (avail & 3) !== 0) throw corruptPositions(this.capacity, this.#tailSeen, head);
    }
    return avail;
  }

  #recordLength(head: number, avail: number): number {
    // Lengths come from shared memory: bound them before they size anything.
    const len = Atomics.load(this.#words, (head & this.#mask) >>> 2);
    if (len < 0 || len > this.maxMessage || 4 + ((len + 3) & ~3) > avail) {
      throw new ShmStateCorruptWordError('SpscQueue', `the length word of the record at position ${head >>> 0}`, `claims ${len} bytes but only ${avail - 4} are queued`);
    }
    return len;
  }

  #copyOut(head: number, len: number, target: Uint8Array): void {
    const start = (head + 4) & this.#mask;
    const first = this.capacity - start;
    const data = this.#data;
    if (len <= first) {
      target.set(data.subarray(start, start + len));
    } else {
      target.set(data.subarray(start, this.capacity));
      target.set(data.subarray(0, len - first), first);
    }
  }
}

