import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { reportRecovery } from './diagnostics';
import { ShmStateCorruptError, ShmStateCorruptWordError, ShmStateError } from './errors';
import { KeyEncoder } from './hash-key';
import { MAGIC, VERSION, W_MAGIC, W_VERSION, W_CAPACITY, W_KEY_SIZE, W_VALUE_SIZE, W_COUNT, W_USED, W_REPAIRS, MUTEX_AT, SLOTS_AT, S_VERSION, S_STATE, S_HASH, S_KEY_LEN, S_VALUE_LEN, SLOT_HEADER, EMPTY, FULL, DELETED, strideFor, checkGeometry } from './hash-map-layout';
import { copyOf, viewOf } from './fast-buffers';
import { HashMapView } from './hash-map-view';
import { Mutex } from './mutex';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import { alignUp, checkHeaderStart, checkRegion, int32At, type Memory } from './memory-region';

/** How long a reader waits on a slot being written before checking the writer is alive. */
const STUCK_MS = 5;
/** Reads of one slot before a reader gives up on it (each spins or yields; see #checkTries). */
const READ_TRIES = 10_000;
/** How long a reader waits for a live writer to finish one slot before giving up. */
const MID_WRITE_MS = 2000;

export interface HashMapOptions {
  offset?: number;
  /** Slots, a power of two; holds at most capacity - 1 entries. */
  capacity: number;
  /** Longest key in bytes. */
  keySize: number;
  /** Longest value in bytes. */
  valueSize: number;
}

type Key = Uint8Array | string;

/**
 * A hash map with fixed-size keys and values (open addressing, linear
 * probing) in shared memory: any number of processes read without locking,
 * writers take the embedded Mutex.
 *
 * Readers use a per-slot seqlock: a writer makes the slot's version odd,
 * changes it, and makes it even again; a reader copies a slot and retries if
 * the version moved. Entries never move, so probe sequences seen by readers
 * stay valid; deletions leave tombstones (reused by later inserts).
 *
 * After a SIGKILL of a writer mid-update: its slot stays odd. Readers or the
 * next writer that find it so take the lock, get `ownerDead`, and turn every
 * odd slot into a tombstone: the entry being written is lost (old value
 * included), all others are intact. `stats().repairs` counts this.
 */
export class HashMap {
  readonly capacity: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly byteLength: number;
  #h: Int32Array | undefined;
  readonly #mapping: ClosedProbe | undefined;
  readonly #slots: Int32Array;
  readonly #bytes: Buffer;
  /** The same bytes as a plain Uint8Array: its subarray() is cheaper than a Buffer's. */
  readonly #u8: Uint8Array;
  readonly #strideWords: number;
  readonly #mutex: Mutex;
  /** Byte offset of the value within a slot. */
  readonly #valueAt: number;
  readonly #keys: KeyEncoder;
  readonly #checkOpen = (): void => void this.#header();
  // Out-values of #locate and #find (one lookup at a time: JS runs one call at once per thread).
  #foundVersion = 0;
  #foundLen = 0;
  #freeFound = -1;

  private constructor(memory: Memory, offset: number, capacity: number, keySize: number, valueSize: number) {
    this.capacity = capacity;
    this.keySize = keySize;
    this.valueSize = valueSize;
    const stride = strideFor(keySize, valueSize);
    this.#strideWords = stride / 4;
    this.byteLength = SLOTS_AT + capacity * stride;
    this.#h = int32At(memory, offset, 64, 'HashMap');
    this.#mapping = mappingOf(memory);
    this.#slots = int32At(memory, offset + SLOTS_AT, capacity * stride, 'HashMap');
    this.#bytes = Buffer.from(memory.buffer, memory.byteOffset + offset + SLOTS_AT, capacity * stride);
    this.#u8 = new Uint8Array(memory.buffer, memory.byteOffset + offset + SLOTS_AT, capacity * stride);
    this.#mutex = Mutex.open(memory, { offset: offset + MUTEX_AT });
    this.#valueAt = SLOT_HEADER + alignUp(keySize, 4);
    this.#keys = new KeyEncoder(keySize);
  }

  static byteLengthFor(options: Omit<HashMapOptions, 'offset'>): number {
    checkGeometry(options.capacity, options.keySize, options.valueSize);
    return SLOTS_AT + options.capacity * strideFor(options.keySize, options.valueSize);
  }

  static create(memory: Memory, options: HashMapOptions): HashMap {
    const offset = options.offset ?? 0;
    const bytes = HashMap.byteLengthFor(options);
    checkRegion(memory, offset, bytes, 8, 'HashMap');
    const all = int32At(memory, offset, bytes, 'HashMap');
    Atomics.store(all, W_MAGIC, 0);
    for (let i = 1; i < all.length; i++) Atomics.store(all, i, 0);
    Atomics.store(all, W_VERSION, VERSION);
    Atomics.store(all, W_CAPACITY, options.capacity);
    Atomics.store(all, W_KEY_SIZE, options.keySize);
    Atomics.store(all, W_VALUE_SIZE, options.valueSize);
    Mutex.create(memory, { offset: offset + MUTEX_AT });
    Atomics.store(all, W_MAGIC, MAGIC);
    return new HashMap(memory, offset, options.capacity, options.keySize, options.valueSize);
  }

  static open(memory: Memory, options: { offset?: number } = {}): HashMap {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, SLOTS_AT, 8, 'HashMap');
    const h = int32At(memory, offset, 64, 'HashMap');
    const where = `HashMap at offset ${offset}`;
    checkHeaderStart(h, where, 'hash map', MAGIC, VERSION);
    const capacity = Atomics.load(h, W_CAPACITY);
    const keySize = Atomics.load(h, W_KEY_SIZE);
    const valueSize = Atomics.load(h, W_VALUE_SIZE);
    try {
      checkGeometry(capacity, keySize, valueSize);
    } catch (err) {
      throw new ShmStateCorruptError(where, (err as Error).message);
    }
    if (offset + SLOTS_AT + capacity * strideFor(keySize, valueSize) > memory.byteLength) throw new ShmStateCorruptError(where, 'slots run past the end of the buffer');
    const count = Atomics.load(h, W_COUNT);
    const used = Atomics.load(h, W_USED);
    if (count < 0 || used < count || used >= capacity) throw new ShmStateCorruptError(where, `impossible counts (${count} entries, ${used} used slots of ${capacity})`);
    return new HashMap(memory, offset, capacity, keySize, valueSize);
  }

  get size(): number {
    return Atomics.load(this.#header(), W_COUNT);
  }

  stats(): { size: number; usedSlots: number; repairs: number } {
    const h = this.#header();
    return { size: Atomics.load(h, W_COUNT), usedSlots: Atomics.load(h, W_USED), repairs: Atomics.load(h, W_REPAIRS) };
  }

  /** A copy of the value under `key`, or undefined. Lock-free. */
  get(key: Key): Buffer | undefined {
    const k = this.#key(key);
    const klen = this.#keys.len;
    const hash = this.#keys.hash;
    for (let moved = 0; ; moved++) {
      const b = this.#locate(k, klen, hash);
      if (b < 0) return undefined;
      const len = this.#foundLen;
      const at = b * 4 + this.#valueAt;
      const out = copyOf(this.#bytes, this.#u8, at, len);
      // The copy is only valid if no writer touched the slot meanwhile.
      if (Atomics.load(this.#slots, b + S_VERSION) === this.#foundVersion) return out;
      this.#checkMoved(b / this.#strideWords, moved);
    }
  }

  /**
   * Copies the value under `key` into `target` without allocating; returns
   * its length, or -1 when absent. A value longer than `target` throws
   * ERR_SHM_STATE_BUFFER_TOO_SMALL (`valueSize` bytes always suffice).
   * Lock-free.
   */
  getInto(key: Key, target: Uint8Array): number {
    const k = this.#key(key);
    const klen = this.#keys.len;
    const hash = this.#keys.hash;
    for (let moved = 0; ; moved++) {
      const b = this.#locate(k, klen, hash);
      if (b < 0) return -1;
      const len = this.#foundLen;
      const at = b * 4 + this.#valueAt;
      if (len <= target.byteLength) {
        target.set(this.#u8.subarray(at, at + len));
        if (Atomics.load(this.#slots, b + S_VERSION) === this.#foundVersion) return len;
      } else if (Atomics.load(this.#slots, b + S_VERSION) === this.#foundVersion) {
        throw new ShmStateError('ERR_SHM_STATE_BUFFER_TOO_SMALL', `the value of this key has ${len} bytes but the target holds only ${target.byteLength}`);
      }
      this.#checkMoved(b / this.#strideWords, moved);
    }
  }

  /**
   * Zero-copy read: a view of the value's bytes where they lie in shared
   * memory, or undefined when absent. Lock-free, no copy of the value.
   *
   * The view shows the value as it was when getView() returned, until the
   * next write of that key — set() or delete() of it by any process, or a
   * set() of another key reusing the slot after a delete. From then on the
   * bytes may change under the view, even half-way (torn). `isCurrent()`
   * tells: read what you need from `value`, then call it; true means no
   * write of the key has begun since getView(), so what you read is the
   * value getView() found. Reading a stale view never crashes: the slot
   * stays inside the map's memory (after the mapping is closed it reads
   * zeros, and `isCurrent()` throws ERR_SHM_CLOSED).
   */
  getView(key: Key): HashMapView | undefined {
    const k = this.#key(key);
    const b = this.#locate(k, this.#keys.len, this.#keys.hash);
    if (b < 0) return undefined;
    const at = b * 4 + this.#valueAt;
    const bytes = this.#bytes;
    return new HashMapView(viewOf(bytes.buffer, bytes.byteOffset + at, this.#foundLen), this.#slots, b + S_VERSION, this.#foundVersion, this.#checkOpen);
  }

  /**
   * The word index of the slot holding `k` — with its version (even) and
   * value length, read consistently, left in #foundVersion / #foundLen — or
   * -1 when the key is absent. Every word read is checked before use.
   */
  #locate(k: Uint8Array, klen: number, hash: number): number {
    const s = this.#slots;
    const mask = this.capacity - 1;
    for (let n = 0, i = hash & mask; n < this.capacity; n++, i = (i + 1) & mask) {
      const b = i * this.#strideWords;
      for (let since = 0, moved = 0; ; moved++) {
        this.#checkMoved(i, moved);
        const v1 = Atomics.load(s, b + S_VERSION);
        if ((v1 & 1) === 1) {
          since = this.#waitStable(i, since);
          moved--;
          continue;
        }
        since = 0;
        // Plain loads between the two version loads (each an Atomics load,
        // several times dearer): the version check below discards whatever
        // they read if a writer was at work, as it does for the value bytes.
        const state = s[b + S_STATE];
        let vlen = -1;
        if (state === FULL && s[b + S_HASH] === hash && s[b + S_KEY_LEN] === klen && this.#keyEquals(b, k, klen)) {
          vlen = s[b + S_VALUE_LEN] as number;
          if (vlen < 0 || vlen > this.valueSize) {
            if (Atomics.load(s, b + S_VERSION) !== v1) continue;
            throw new ShmStateCorruptWordError('HashMap', `the value length word of slot ${i}`, `claims ${vlen} bytes in ${this.valueSize}-byte values`);
          }
        }
        // What was read above is only valid if no writer touched the slot meanwhile.
        if (Atomics.load(s, b + S_VERSION) !== v1) continue;
        if (state === EMPTY) return -1;
        if (vlen >= 0) {
          this.#foundVersion = v1;
          this.#foundLen = vlen;
          return b;
        }
        break;
      }
    }
    return -1;
  }

  has(key: Key): boolean {
    const k = this.#key(key);
    return this.#locate(k, this.#keys.len, this.#keys.hash) >= 0;
  }

  /** Inserts or replaces (takes the writer lock, blocking). */
  set(key: Key, value: Uint8Array | string): void {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const k = this.#key(key);
    const klen = this.#keys.len;
    const hash = this.#keys.hash;
    if (v.byteLength > this.valueSize) throw new ShmStateError('ERR_SHM_STATE_MESSAGE_TOO_LARGE', `a ${v.byteLength}-byte value exceeds the map's ${this.valueSize}-byte values`);
    this.#write((h) => {
      const slot = this.#find(k, klen, hash);
      let b: number;
      if (slot >= 0) {
        b = slot * this.#strideWords;
      } else {
        const free = this.#freeFound;
        if (free < 0 || (Atomics.load(this.#slots, free * this.#strideWords + S_STATE) === EMPTY && Atomics.load(h, W_USED) + 1 >= this.capacity)) {
          throw new ShmStateError('ERR_SHM_STATE_FULL', `the hash map is full (${this.size} entries in ${this.capacity} slots); create a larger one`);
        }
        b = free * this.#strideWords;
      }
      const s = this.#slots;
      const wasEmpty = Atomics.load(s, b + S_STATE) === EMPTY;
      const isNew = slot < 0;
      Atomics.add(s, b + S_VERSION, 1); // odd: readers retry
      const at = b * 4 + SLOT_HEADER;
      if (isNew) {
        this.#bytes.fill(0, at, b * 4 + this.#valueAt);
        this.#bytes.set(klen === k.byteLength ? k : k.subarray(0, klen), at);
        Atomics.store(s, b + S_HASH, hash);
        Atomics.store(s, b + S_KEY_LEN, klen);
      }
      this.#bytes.set(v, b * 4 + this.#valueAt);
      // Plain stores inside the odd version, like the value's bytes: a
      // reader discards what it read unless the version is even and the
      // same before and after (each Atomics store is a full fence here).
      s[b + S_VALUE_LEN] = v.byteLength;
      if (isNew) s[b + S_STATE] = FULL;
      Atomics.add(s, b + S_VERSION, 1); // even again
      if (isNew) {
        Atomics.add(h, W_COUNT, 1);
        if (wasEmpty) Atomics.add(h, W_USED, 1);
      }
    });
  }

  /** Removes `key`; true if it was there. */
  delete(key: Key): boolean {
    const k = this.#key(key);
    const klen = this.#keys.len;
    const hash = this.#keys.hash;
    return this.#write((h) => {
      const slot = this.#find(k, klen, hash);
      if (slot < 0) return false;
      const s = this.#slots;
      const b = slot * this.#strideWords;
      Atomics.add(s, b + S_VERSION, 1);
      Atomics.store(s, b + S_STATE, DELETED);
      Atomics.add(s, b + S_VERSION, 1);
      Atomics.sub(h, W_COUNT, 1);
      return true;
    });
  }

  /** Every [key, value], copied. A consistent view of each entry, not of the whole map. */
  *entries(): IterableIterator<[Buffer, Buffer]> {
    this.#header();
    const s = this.#slots;
    for (let i = 0; i < this.capacity; i++) {
      const b = i * this.#strideWords;
      for (let since = 0, moved = 0; ; moved++) {
        this.#checkMoved(i, moved);
        const v1 = Atomics.load(s, b + S_VERSION);
        if ((v1 & 1) === 1) {
          since = this.#waitStable(i, since);
          moved--;
          continue;
        }
        since = 0;
        if (Atomics.load(s, b + S_STATE) !== FULL) {
          if (Atomics.load(s, b + S_VERSION) === v1) break;
          continue;
        }
        const klen = Atomics.load(s, b + S_KEY_LEN);
        const vlen = Atomics.load(s, b + S_VALUE_LEN);
        if (klen < 0 || klen > this.keySize || vlen < 0 || vlen > this.valueSize) {
          if (Atomics.load(s, b + S_VERSION) !== v1) continue;
          throw new ShmStateCorruptWordError('HashMap', `the length words of slot ${i}`, `claim a ${klen}-byte key and a ${vlen}-byte value`);
        }
        const at = b * 4 + SLOT_HEADER;
        const key = Buffer.from(this.#bytes.subarray(at, at + klen));
        const vat = b * 4 + this.#valueAt;
        const value = Buffer.from(this.#bytes.subarray(vat, vat + vlen));
        if (Atomics.load(s, b + S_VERSION) !== v1) continue;
        yield [key, value];
        break;
      }
    }
  }

  close(): void {
    this.#h = undefined;
    this.#mutex.close();
  }

  #header(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the HashMap');
    if (this.#mapping?.closed === true) {
      this.close();
      throw new ShmClosedError('the mapping under this HashMap');
    }
    return this.#h;
  }

  /** The key's bytes (length and hash in #keys.len / #keys.hash), after checking the handle is open. */
  #key(key: Key): Uint8Array {
    this.#header();
    return this.#keys.encode(key);
  }

  #keyEquals(b: number, k: Uint8Array, klen: number): boolean {
    const at = b * 4 + SLOT_HEADER;
    const bytes = this.#bytes;
    if (klen > 32) return bytes.compare(k, 0, klen, at, at + klen) === 0;
    // Short keys: a loop beats the native call's fixed cost.
    for (let i = 0; i < klen; i++) if (bytes[at + i] !== k[i]) return false;
    return true;
  }

  /** Under the lock: the slot holding `k` (-1 when absent), and in #freeFound the first reusable slot on its probe path (-1: none). */
  #find(k: Uint8Array, klen: number, hash: number): number {
    const s = this.#slots;
    const mask = this.capacity - 1;
    let free = -1;
    // Plain loads: under the writer lock only we change slots (a peer
    // ignoring the lock can only make the answer wrong, never the loop
    // longer than the capacity).
    for (let n = 0, i = hash & mask; n < this.capacity; n++, i = (i + 1) & mask) {
      const b = i * this.#strideWords;
      const state = s[b + S_STATE];
      if (state === EMPTY) {
        this.#freeFound = free < 0 ? i : free;
        return -1;
      }
      if (state === DELETED) {
        if (free < 0) free = i;
        continue;
      }
      if (s[b + S_HASH] === hash && s[b + S_KEY_LEN] === klen && this.#keyEquals(b, k, klen)) return i;
    }
    this.#freeFound = free;
    return -1;
  }

  #write<T>(fn: (h: Int32Array) => T): T {
    const h = this.#header();
    // Uncontended and consistent (the common case): no guard object, no wait machinery.
    if (this.#mutex.tryEnter()) {
      try {
        return fn(h);
      } finally {
        this.#mutex.exit();
      }
    }
    const g = this.#mutex.lockSync({ timeoutMs: 30_000 });
    if (g === null) throw new ShmStateError('ETIMEDOUT', `the hash map's writer lock stayed held by pid ${this.#mutex.holder} for 30 s`);
    try {
      if (g.ownerDead) {
        this.#repair(h);
        g.markConsistent();
      }
      return fn(h);
    } finally {
      g.unlock();
    }
  }

  /** A writer died mid-update: every odd slot becomes a tombstone. Runs under the lock. */
  #repair(h: Int32Array): void {
    const s = this.#slots;
    let count = 0;
    let used = 0;
    for (let i = 0; i < this.capacity; i++) {
      const b = i * this.#strideWords;
      const v = Atomics.load(s, b + S_VERSION);
      if ((v & 1) === 1) {
        Atomics.store(s, b + S_STATE, DELETED);
        Atomics.store(s, b + S_VERSION, (v + 1) | 0);
        Atomics.add(h, W_REPAIRS, 1);
        reportRecovery({ structure: 'HashMap', what: `slot ${i} was being written by a dead writer; its entry is dropped`, deadPid: 0 });
      }
      const st = Atomics.load(s, b + S_STATE);
      if (st === FULL) count++;
      if (st !== EMPTY) used++;
    }
    // The counters may have been mid-update too: recount.
    Atomics.store(h, W_COUNT, count);
    Atomics.store(h, W_USED, used);
  }

  /** A reader found a slot mid-write: spin a little, then make sure the writer is alive. */
  #waitStable(slot: number, since: number): number {
    const now = performance.now();
    if (since === 0) return now;
    if (now - since >= MID_WRITE_MS) {
      throw new ShmStateError('ETIMEDOUT', `HashMap slot ${slot} has been mid-write for ${MID_WRITE_MS} ms by the live writer pid ${this.#mutex.holder}; retry later`);
    }
    if (now - since >= STUCK_MS) {
      const g = this.#mutex.tryLock();
      if (g !== null) {
        let repaired = false;
        if (g.ownerDead) {
          this.#repair(this.#header());
          g.markConsistent();
          repaired = true;
        }
        // With the writer lock held and nobody dead, no writer can be
        // mid-update: an odd version now was written by someone else.
        const odd = !repaired && (Atomics.load(this.#slots, slot * this.#strideWords + S_VERSION) & 1) === 1;
        g.unlock();
        if (odd) throw new ShmStateCorruptWordError('HashMap', `the version word of slot ${slot}`, 'stays odd (mid-write) while no writer holds the lock');
      } else {
        sys.schedYield();
      }
    }
    return since;
  }

  /** A version word that moves under every one of READ_TRIES reads is not a writer's doing. */
  #checkMoved(slot: number, moved: number): void {
    if (moved < READ_TRIES) return;
    throw new ShmStateCorruptWordError('HashMap', `the version word of slot ${slot}`, `changed under ${READ_TRIES} consecutive reads`);
  }
}
