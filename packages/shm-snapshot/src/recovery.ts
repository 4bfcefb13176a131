import { ShmClosedError } from '@shmkit/shm-fd';

import type { FileAccess } from './file-access';
import { entryLengthWord, entryOffsetWord, type Geometry } from './layout';
import { scanEntries } from './file-scan';
import { readRing } from './data-ring';
import { toPredicate, type RecoveredConfiguration, type RetainSet, type Snapshot } from './snapshot';
import { Writer } from './writer';

/**
 * A configured file found by SnapshotFile.recover(): its configuration and
 * read access to its entries. valid() and read() never write to the file;
 * retain() and writer() do, by design.
 */
export class Recovery {
  readonly #file: FileAccess;
  /** The configuration found, with the write offset at the time of recover(). */
  readonly configuration: RecoveredConfiguration;
  readonly geometry: Geometry;
  readonly #live: boolean;

  /** @internal Use SnapshotFile.recover(). */
  constructor(file: FileAccess, configuration: RecoveredConfiguration, geometry: Geometry, live: boolean) {
    this.#file = file;
    this.configuration = configuration;
    this.geometry = geometry;
    this.#live = live;
  }

  #check(): void {
    if (this.#file.closed) throw new ShmClosedError('the snapshot file');
  }

  /**
   * The valid snapshots, oldest first. On a file another process is
   * writing (recover({ live: true })) entries that fail a bounds check are
   * skipped; otherwise they throw SnapshotCorruptError.
   */
  valid(): Snapshot[] {
    this.#check();
    return scanEntries(this.#file.words(), this.geometry, !this.#live).valid;
  }

  /** The newest valid snapshot (highest stream offset), or null. */
  newest(): Snapshot | null {
    const v = this.valid();
    return v[v.length - 1] ?? null;
  }

  /**
   * A copy of the snapshot's payload, or null when its entry no longer
   * describes it (a live writer overwrote it before or while we copied: the
   * entry is checked again after the copy).
   */
  read(s: Snapshot): Buffer | null {
    this.#check();
    if (!Number.isInteger(s.slot) || s.slot < 0 || s.slot >= this.geometry.entries) return null;
    if (!Number.isSafeInteger(s.length) || s.length <= 0 || s.length >= this.geometry.dataBytes) return null;
    if (!this.#holds(s)) return null;
    const out = Buffer.allocUnsafe(s.length);
    readRing(this.#file.memory(), this.geometry.dataOffset, this.geometry.dataBytes - 1, s.offset, out, s.length);
    return this.#holds(s) ? out : null;
  }

  #holds(s: Snapshot): boolean {
    const w = this.#file.words();
    return w.load(entryLengthWord(s.slot)) === BigInt(s.length) && w.load(entryOffsetWord(s.slot)) === BigInt(s.offset);
  }

  /**
   * Invalidates every valid entry not in `keep` (matched by slot, offset and
   * length). This writes: use it on a copy, e.g. to drop entries whose bytes
   * may have been torn while copying. Returns the entries kept.
   */
  retain(keep: RetainSet): Snapshot[] {
    this.#check();
    const wanted = toPredicate(keep);
    const w = this.#file.words();
    const kept: Snapshot[] = [];
    for (const s of scanEntries(w, this.geometry, false).valid) {
      if (wanted(s)) kept.push(s);
      else w.store(entryLengthWord(s.slot), 0n);
    }
    return kept;
  }

  /** The application's tail as u64 words (read it; see Writer.tail()). */
  tail(): BigUint64Array {
    const b = this.tailBuffer();
    // Unaligned memory is never shared (see Words), so a copy reads the same.
    if (b.byteOffset % 8 !== 0) return new BigUint64Array(new Uint8Array(b).buffer, 0, Math.floor(b.length / 8));
    return new BigUint64Array(b.buffer, b.byteOffset, Math.floor(b.length / 8));
  }

  tailBuffer(): Buffer {
    this.#check();
    return this.#file.memory().subarray(this.geometry.tailOffset, this.geometry.tailOffset + this.geometry.tailBytes);
  }

  /**
   * A Writer that continues this file where it stopped: at the recorded
   * write offset, reusing slots oldest first, keeping the valid entries
   * until new payloads overwrite them. The head is not rewritten; entries
   * whose bytes were already overwritten are invalidated.
   */
  writer(): Writer {
    this.#check();
    const words = this.#file.words();
    const scan = scanEntries(words, this.geometry, true);
    this.#file.claimWriter();
    // Overwritten entries still marked valid (left by a writer that does not
    // invalidate) would mislead other readers; a writer may clear them.
    for (const s of scan.stale) words.store(entryLengthWord(s.slot), 0n);
    return new Writer(this.#file, this.geometry, Math.max(scan.writeOffset, this.configuration.writeOffset), scan.valid);
  }
}
