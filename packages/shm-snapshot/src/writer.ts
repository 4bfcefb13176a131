import { ShmClosedError } from '@shmkit/shm-fd';

import { ShmSnapshotError, SnapshotPayloadError } from './errors';
import { entryLengthWord, entryOffsetWord, HEAD_WRITE_OFFSET, MAX_WRITE_OFFSET, type Geometry } from './layout';
import { readRing, writeRing } from './data-ring';
import type { RecoveredConfiguration, Snapshot } from './snapshot';
import type { FileAccess } from './file-access';

/**
 * A commit in progress, handed to the commitWith() callback after the
 * payload bytes are in the ring and before anything marks them valid.
 */
export interface Transaction {
  /** The entry slot and stream position the payload will be committed at. */
  readonly slot: number;
  readonly offset: number;
  readonly length: number;
  /** Overwrites the start of the payload (at most `length` bytes), e.g. with a result computed here. */
  replace(bytes: Uint8Array): void;
  /** The application's tail as u64 words (native byte order); see Writer.tail(). */
  readonly tail: BigUint64Array;
  /** The same tail as bytes. */
  readonly tailBuffer: Buffer;
}

/** What commitWith() returns when the callback did not decline. */
export interface Committed<T> {
  readonly snapshot: Snapshot;
  readonly value: T;
}

/**
 * The single writer of a journal. Commits go: invalidate, copy, commit
 * (format §2): every entry whose bytes the new payload overwrites is
 * invalidated (length 0) first, then the payload is copied into the ring,
 * then the write offset, the entry's offset and last its length are stored.
 * A copier that sees an entry valid before and after copying its bytes thus
 * holds an intact copy.
 *
 * One Writer per file: two would reuse each other's slots.
 */
export class Writer {
  readonly #file: FileAccess;
  readonly #g: Geometry;
  readonly #mem: Buffer;
  readonly #words: BigUint64Array;
  readonly #mask: number;
  readonly #entryMask: number;
  #pos: number;
  #cursor: number;
  // Our own record of each slot (what we last stored), so a commit never
  // has to read shared words back. Length 0 = invalid.
  readonly #slotOffset: Float64Array;
  readonly #slotLength: Float64Array;
  // Slots in stream order (oldest first), for invalidating overwritten entries.
  #queueSlot: number[] = [];
  #queueOffset: number[] = [];
  #queueHead = 0;
  #tail: BigUint64Array | undefined;
  #tailBuffer: Buffer | undefined;

  /** @internal Use SnapshotFile.configure() or Recovery.writer(). */
  constructor(file: FileAccess, g: Geometry, writeOffset: number, existing: readonly Snapshot[]) {
    this.#file = file;
    this.#g = g;
    this.#mem = file.memory();
    const words = file.words().atomic;
    if (words === null) throw new ShmSnapshotError('ERR_SNAPSHOT_MISALIGNED', 'a Writer needs 8-byte aligned memory (a mapping, or a Buffer from Buffer.alloc of at least 4096 bytes)');
    this.#words = words;
    this.#mask = g.dataBytes - 1;
    this.#entryMask = g.entries - 1;
    this.#pos = writeOffset;
    this.#slotOffset = new Float64Array(g.entries);
    this.#slotLength = new Float64Array(g.entries);
    let newest = -1;
    let newestSlot = -1;
    for (const s of existing) {
      this.#slotOffset[s.slot] = s.offset;
      this.#slotLength[s.slot] = s.length;
      this.#queueSlot.push(s.slot);
      this.#queueOffset.push(s.offset);
      if (s.offset >= newest) {
        newest = s.offset;
        newestSlot = s.slot;
      }
    }
    // Continue after the newest entry, so slots are reused oldest first.
    this.#cursor = newestSlot < 0 ? 0 : (newestSlot + 1) & this.#entryMask;
  }

  /** The layout this writer writes. */
  get configuration(): RecoveredConfiguration {
    return { entries: this.#g.entries, dataBytes: this.#g.dataBytes, writeOffset: this.#pos };
  }

  get geometry(): Geometry {
    return this.#g;
  }

  /** Largest payload a commit takes: dataBytes − 1. */
  get maxPayload(): number {
    return this.#mask;
  }

  /** Commits `payload` as a new snapshot. */
  commit(payload: Uint8Array): Snapshot {
    const r = this.#commit(payload, null);
    return (r as Committed<undefined>).snapshot;
  }

  /**
   * Commits `payload`, running `fn` after the bytes are in the ring and
   * before they are marked valid. `fn` may replace the payload and write the
   * tail; returning `false` declines: nothing is committed and null is
   * returned. A throwing `fn` also commits nothing (the error propagates).
   *
   * Entries the payload overwrites are invalidated even when `fn` declines.
   */
  commitWith<T>(payload: Uint8Array, fn: (tx: Transaction) => T | false): Committed<T> | null {
    return this.#commit(payload, fn);
  }

  #commit<T>(payload: Uint8Array, fn: ((tx: Transaction) => T | false) | null): Committed<T> | null {
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');
    const length = payload.length;
    if (length === 0) {
      throw new SnapshotPayloadError('ERR_SNAPSHOT_PAYLOAD', 'cannot commit an empty payload: a zero length marks an invalid entry');
    }
    if (length > this.#mask) {
      throw new SnapshotPayloadError(
        'ERR_SNAPSHOT_PAYLOAD',
        `payload of ${length} bytes does not fit: the ${this.#g.dataBytes}-byte ring takes at most ${this.#mask}; configure a larger dataBytes`,
      );
    }
    const words = this.#words;
    const slot = this.#cursor;
    const start = this.#pos;
    const end = start + length;
    if (end > MAX_WRITE_OFFSET) {
      // Readers refuse a write offset beyond this limit; never store one.
      throw new SnapshotPayloadError(
        'ERR_SNAPSHOT_STREAM_FULL',
        `the journal's stream is at ${start} bytes; a ${length}-byte payload would pass the ${MAX_WRITE_OFFSET}-byte limit: configure() the file anew`,
      );
    }

    // 1. Invalidate: the slot we reuse, then every entry whose bytes lie in
    //    the part of the ring [start, end) overwrites, i.e. starting before
    //    end − dataBytes. Each store of 0 happens before the bytes change.
    if (this.#slotLength[slot] !== 0) {
      Atomics.store(words, entryLengthWord(slot), 0n);
      this.#slotLength[slot] = 0;
    }
    const limit = end - this.#g.dataBytes;
    while (this.#queueHead < this.#queueSlot.length) {
      const s = this.#queueSlot[this.#queueHead] as number;
      const o = this.#queueOffset[this.#queueHead] as number;
      const live = this.#slotLength[s] !== 0 && this.#slotOffset[s] === o;
      if (live && o >= limit) break;
      if (live) {
        Atomics.store(words, entryLengthWord(s), 0n);
        this.#slotLength[s] = 0;
      }
      this.#queueHead += 1;
    }
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queueSlot.length) {
      this.#queueSlot = this.#queueSlot.slice(this.#queueHead);
      this.#queueOffset = this.#queueOffset.slice(this.#queueHead);
      this.#queueHead = 0;
    }

    // 2. Copy the payload into the ring.
    writeRing(this.#mem, this.#g.dataOffset, this.#mask, start, payload);

    // 3. The caller's transaction; declining leaves everything uncommitted.
    let value: T | undefined;
    if (fn !== null) {
      const result = fn(this.#transaction(slot, start, length));
      if (result === false) return null;
      value = result;
    }
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');

    // 4. Commit: write offset, then the entry's offset, then its length:
    //    the validity mark is stored last.
    Atomics.store(words, HEAD_WRITE_OFFSET, BigInt(end));
    Atomics.store(words, entryOffsetWord(slot), BigInt(start));
    Atomics.store(words, entryLengthWord(slot), BigInt(length));
    this.#slotOffset[slot] = start;
    this.#slotLength[slot] = length;
    this.#queueSlot.push(slot);
    this.#queueOffset.push(start);
    this.#cursor = (slot + 1) & this.#entryMask;
    this.#pos = end;
    return { snapshot: { slot, offset: start, length }, value: value as T };
  }

  #transaction(slot: number, offset: number, length: number): Transaction {
    const mem = this.#mem;
    const dataOffset = this.#g.dataOffset;
    const mask = this.#mask;
    const tail = () => this.tail();
    const tailBuffer = () => this.tailBuffer();
    return {
      slot,
      offset,
      length,
      replace(bytes: Uint8Array): void {
        if (bytes.length > length) {
          throw new SnapshotPayloadError('ERR_SNAPSHOT_PAYLOAD', `replace() got ${bytes.length} bytes but the payload being committed has ${length}`);
        }
        writeRing(mem, dataOffset, mask, offset, bytes);
      },
      get tail() {
        return tail();
      },
      get tailBuffer() {
        return tailBuffer();
      },
    };
  }

  /** The valid snapshots, oldest first (ours and any recovered ones not yet overwritten). */
  valid(): Snapshot[] {
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');
    const out: Snapshot[] = [];
    for (let i = this.#queueHead; i < this.#queueSlot.length; i++) {
      const s = this.#queueSlot[i] as number;
      const o = this.#queueOffset[i] as number;
      if (this.#slotLength[s] !== 0 && this.#slotOffset[s] === o) out.push({ slot: s, offset: o, length: this.#slotLength[s] as number });
    }
    return out;
  }

  /** The most recently committed valid snapshot, or null. */
  newest(): Snapshot | null {
    const v = this.valid();
    return v[v.length - 1] ?? null;
  }

  /** A copy of a snapshot's payload, or null if it is no longer valid. */
  read(s: Snapshot): Buffer | null {
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');
    if (s.slot < 0 || s.slot > this.#entryMask || this.#slotLength[s.slot] !== s.length || this.#slotOffset[s.slot] !== s.offset || s.length === 0) return null;
    const out = Buffer.allocUnsafe(s.length);
    readRing(this.#mem, this.#g.dataOffset, this.#mask, s.offset, out, s.length);
    return out;
  }

  /**
   * The application's part of the file, after the ring, as u64 words in
   * native byte order (little-endian on x86_64 and arm64). Valid until the
   * file is closed; afterwards it reads zeros. Store shared words with
   * Atomics if another process reads them live.
   */
  tail(): BigUint64Array {
    if (this.#tail === undefined) {
      const b = this.tailBuffer();
      this.#tail = new BigUint64Array(b.buffer, b.byteOffset, Math.floor(b.length / 8));
    }
    return this.#tail;
  }

  /** The tail as bytes (same lifetime as tail()). */
  tailBuffer(): Buffer {
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');
    this.#tailBuffer ??= this.#mem.subarray(this.#g.tailOffset, this.#g.tailOffset + this.#g.tailBytes);
    return this.#tailBuffer;
  }
}
