import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import { encodeFile, encodeHeader, encodeSession, encodeWriteInto, JOURNAL_MAGIC, type WriteHead, writeRecordLength } from './journal-format';
import { loadJournal, type RestoredState } from './journal-load';
import { checkOutsideRoot, openPrivateFile } from './journal-location';
import { type JournalLock, lockJournal } from './journal-lock';

export type { RestoredState } from './journal-load';

/**
 * The file grows (allocated, zero-filled, then mapped again) by at least
 * this much, and at least doubles: few remaps, and a killed server leaves
 * little unused space behind.
 */
const GROW_MIN = 64 * 1024;

/** Default size past which the journal is compacted. */
export const DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024;

export interface JournalOpenOptions {
  /** The journal file; its directory must exist. */
  path: string;
  /** The served root's real path: recorded in the header, and the journal may not lie inside it. */
  rootReal: string;
  /** Compact when an append would grow the file past this many bytes. */
  maxBytes?: number;
  log?: (line: string) => void;
}

/** What a compacted journal holds: every live session's table and every file's version. No data. */
export interface JournalSnapshot {
  sessions: Iterable<readonly [string, ReadonlyMap<number, number>]>;
  files: Iterable<readonly [string, number]>;
}

/**
 * rmmapd's write journal (PROTOCOL.md §6.1): each WRITE is recorded before
 * it is applied, so that after a kill -9 the next rmmapd can rebuild every
 * session's dedupe table and re-apply the one write that may not have
 * reached the file.
 *
 * Records are copied into a shared mapping of the journal file, exactly as
 * WRITE data goes into the served files: no system call per write (a
 * pwrite(2) per record cost ≈ 6 µs inside rmmapd here, the copy ≈ 1 µs),
 * and the page cache keeps the bytes when the process dies. The file is
 * grown in zero-filled, allocated steps ahead of the records; the
 * length field of a record is stored last, so an unfinished record reads
 * as the end of the journal. Crash-safe against the death of the process,
 * not against power loss: nothing is fsynced (the served files are not
 * either, until SYNC). Like a served file, the journal must not be
 * truncated by another program while rmmapd runs (SIGBUS).
 *
 * Owns its fd, its mapping and the lock; `close()` releases them.
 */
export class WriteJournal {
  readonly path: string;
  readonly #rootReal: string;
  readonly #maxBytes: number;
  readonly #log: (line: string) => void;
  readonly #lock: JournalLock;
  #fd: number;
  /** Bytes of whole records (the file is longer: zeros reserved for the next ones). */
  #size: number;
  /** The mapping of [0, #capacity) of the file; undefined until the first append. */
  #map: sys.Mapping | undefined;
  /** `#map.buffer`, kept: the getter is not free, and this is the hot path. */
  #view: Buffer | undefined;
  #capacity = 0;
  /** Compaction threshold: never below twice the last snapshot, so a big snapshot is not rewritten on every append. */
  #limit: number;
  #closed = false;

  private constructor(path: string, rootReal: string, maxBytes: number, log: (line: string) => void, lock: JournalLock, fd: number, size: number) {
    this.path = path;
    this.#rootReal = rootReal;
    this.#maxBytes = maxBytes;
    this.#log = log;
    this.#lock = lock;
    this.#fd = fd;
    this.#size = size;
    this.#limit = maxBytes;
  }

  /**
   * Locks and reads the journal (creating it if missing), truncates a torn
   * tail, and returns what it recorded. Throws an `ERR_RMMAP_JOURNAL_*`
   * RmmapError whose message says what to do.
   */
  static open(options: JournalOpenOptions): { journal: WriteJournal; state: RestoredState } {
    const { path: file, rootReal } = options;
    const maxBytes = options.maxBytes ?? DEFAULT_JOURNAL_MAX_BYTES;
    const log = options.log ?? (() => {});
    let lock: JournalLock | undefined;
    let fd: number | undefined;
    try {
      checkOutsideRoot(file, rootReal);
      lock = lockJournal(file);
      fd = openPrivateFile(file);
      const loaded = loadJournal(fd, file, rootReal);
      let size = loaded.validEnd;
      if (loaded.tornReason !== undefined) {
        log(`journal ${file}: dropped ${loaded.tornReason} at byte ${loaded.validEnd} (normal after a crash: that write was never applied)`);
      }
      // Cut what follows the last record (an unfinished one, reserved zeros):
      // the space grown again for new records must read as zeros.
      fs.ftruncateSync(fd, loaded.fresh ? 0 : size);
      if (loaded.fresh) {
        const head = Buffer.concat([JOURNAL_MAGIC, encodeHeader(rootReal)]);
        fs.writeSync(fd, head, 0, head.length, 0);
        size = head.length;
      }
      removeStale(`${file}.compact`);
      const journal = new WriteJournal(file, rootReal, maxBytes, log, lock, fd, size);
      return { journal, state: loaded.state };
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      lock?.release();
      if (e instanceof RmmapError && e.code.startsWith('ERR_RMMAP_JOURNAL')) throw e;
      throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `cannot use the journal ${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Bytes in the journal file. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one WRITE record. Call it before applying the write, and apply
   * only if it returned. Compacts first when the record would take the file
   * past the limit: every earlier write is applied by then, so the snapshot
   * needs no data.
   */
  appendWrite(rec: WriteHead, data: Uint8Array, snapshot: () => JournalSnapshot): void {
    this.#usable();
    const length = writeRecordLength(rec, data.length);
    if (this.#size + length > this.#limit) {
      try {
        this.compact(snapshot());
      } catch (e) {
        // A journal that cannot shrink still works: keep appending (and
        // serving writes), try again when it has doubled.
        this.#limit = 2 * (this.#size + length);
        this.#log(`${(e as Error).message}; the journal keeps growing, next attempt at ${this.#limit} bytes`);
      }
    }
    if (this.#size + length > this.#capacity) this.#grow(this.#size + length);
    // Invariant: [#size, #capacity) of the mapping is zeros (the file was
    // cut at #size and grown with ftruncate), which encodeWriteInto needs.
    this.#size += encodeWriteInto(this.#view as Buffer, this.#size, rec, data);
  }

  /**
   * Replaces the journal by a snapshot: written to `<journal>.compact`,
   * then renamed over the journal (atomic: a crash leaves the old or the new
   * one, whole). The lock is on its own file, so it is kept.
   */
  compact(snapshot: JournalSnapshot): void {
    this.#usable();
    const tmp = `${this.path}.compact`;
    let fd: number | undefined;
    try {
      removeStale(tmp);
      fd = openPrivateFile(tmp, { exclusive: true });
      const parts = [JOURNAL_MAGIC, encodeHeader(this.#rootReal)];
      for (const [p, version] of snapshot.files) if (version > 0) parts.push(encodeFile(p, version));
      for (const [id, applied] of snapshot.sessions) if (applied.size > 0) parts.push(encodeSession(id, applied));
      const all = Buffer.concat(parts);
      fs.writeSync(fd, all, 0, all.length, 0);
      // Synced before and after the rename, so a power loss leaves the old
      // journal or the whole new one, never a renamed file with lost data.
      fs.fsyncSync(fd);
      sys.atomicReplace(tmp, this.path, { durable: true });
      this.#unmap();
      fs.closeSync(this.#fd);
      this.#fd = fd;
      fd = undefined;
      this.#log(`journal ${this.path}: compacted ${this.#size} bytes to ${all.length}`);
      this.#size = all.length;
      this.#limit = Math.max(this.#maxBytes, 2 * all.length);
    } catch (e) {
      if (fd !== undefined) {
        fs.closeSync(fd);
        removeStale(tmp);
      }
      throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `compacting the journal ${this.path} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Compacts (when given a snapshot: a small file stays behind), closes and unlocks. Idempotent. */
  close(snapshot?: JournalSnapshot): void {
    if (this.#closed) return;
    try {
      if (snapshot !== undefined) this.compact(snapshot);
    } catch (e) {
      this.#log((e as Error).message);
    } finally {
      this.#closed = true;
      this.#unmap();
      try {
        // Not compacted: drop the reserved zeros at least.
        if (fs.fstatSync(this.#fd).size > this.#size) fs.ftruncateSync(this.#fd, this.#size);
      } catch (e) {
        this.#log(`journal ${this.path}: ${(e as Error).message}`);
      }
      fs.closeSync(this.#fd);
      this.#lock.release();
    }
  }

  #usable(): void {
    if (this.#closed) throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `the journal ${this.path} is closed`);
  }

  /**
   * Grows the file to hold `needed` bytes and maps it again. posix_fallocate
   * (not ftruncate) so the blocks exist before they are touched: a page
   * fault on a full disk would kill the server with SIGBUS, while this fails
   * just the write. The new bytes read as zeros.
   */
  #grow(needed: number): void {
    const capacity = Math.max(needed, this.#size + GROW_MIN, 2 * this.#capacity);
    try {
      sys.fallocate(this.#fd, 0, capacity);
      this.#unmap();
      this.#map = sys.map(this.#fd, { offset: 0, length: capacity, writable: true });
      this.#view = this.#map.buffer;
      this.#capacity = capacity;
    } catch (e) {
      this.#unmap();
      throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `growing the journal ${this.path} to ${capacity} bytes failed: ${(e as Error).message}; the write was not applied`, { cause: e });
    }
  }

  #unmap(): void {
    this.#view = undefined;
    this.#capacity = 0;
    const m = this.#map;
    this.#map = undefined;
    m?.close();
  }
}

function removeStale(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
