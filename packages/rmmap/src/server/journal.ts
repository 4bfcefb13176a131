import fs from 'node:fs';

import { RmmapError } from '../errors';
import { encodeFile, encodeHeader, encodeSession, encodeWrite, JOURNAL_MAGIC, type WriteHead } from './journal-format';
import { loadJournal, type RestoredState } from './journal-load';
import { checkOutsideRoot, openPrivateFile } from './journal-location';
import { type JournalLock, lockJournal } from './journal-lock';

export type { RestoredState } from './journal-load';

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
 * rmmapd's write journal (PROTOCOL.md §6): each WRITE is appended, with one
 * pwrite(2) (writev for big data) and no fsync, before it is applied, so that after a kill -9 the
 * next rmmapd can rebuild every session's dedupe table and re-apply the one
 * write that may not have reached the file.
 *
 * Crash-safe against the death of the process, not against power loss:
 * nothing is fsynced (the mapped files are not either, until SYNC).
 * Owns its fd and the lock; `close()` releases both.
 */
export class WriteJournal {
  readonly path: string;
  readonly #rootReal: string;
  readonly #maxBytes: number;
  readonly #log: (line: string) => void;
  readonly #lock: JournalLock;
  #fd: number;
  #size: number;
  /** Compaction threshold: never below twice the last snapshot, so a big snapshot is not rewritten on every append. */
  #limit: number;
  #broken: Error | undefined;
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
      if (loaded.fresh) {
        fs.ftruncateSync(fd, 0);
        const head = Buffer.concat([JOURNAL_MAGIC, encodeHeader(rootReal)]);
        fs.writeSync(fd, head, 0, head.length, 0);
        size = head.length;
      } else if (loaded.tornReason !== undefined) {
        fs.ftruncateSync(fd, size);
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
   * Appends one WRITE record (one system call). Call it before applying the
   * write, and apply only if it returned. Compacts first when the record
   * would take the file past the limit: every earlier write is applied by
   * then, so the snapshot needs no data.
   */
  appendWrite(rec: WriteHead, data: Uint8Array, snapshot: () => JournalSnapshot): void {
    this.#usable();
    const record = encodeWrite(rec, data);
    const length = Array.isArray(record) ? record[0].length + record[1].length : record.length;
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
    this.#append(record, length);
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
      fd = openPrivateFile(tmp, fs.constants.O_EXCL);
      const parts = [JOURNAL_MAGIC, encodeHeader(this.#rootReal)];
      for (const [p, version] of snapshot.files) if (version > 0) parts.push(encodeFile(p, version));
      for (const [id, applied] of snapshot.sessions) if (applied.size > 0) parts.push(encodeSession(id, applied));
      const all = Buffer.concat(parts);
      fs.writeSync(fd, all, 0, all.length, 0);
      fs.renameSync(tmp, this.path);
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
      if (snapshot !== undefined && this.#broken === undefined) this.compact(snapshot);
    } catch (e) {
      this.#log((e as Error).message);
    } finally {
      this.#closed = true;
      fs.closeSync(this.#fd);
      this.#lock.release();
    }
  }

  #usable(): void {
    if (this.#closed) throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `the journal ${this.path} is closed`);
    if (this.#broken !== undefined) throw this.#broken;
  }

  #append(record: Buffer | [Buffer, Uint8Array], length: number): void {
    let written = 0;
    try {
      written = Array.isArray(record) ? fs.writevSync(this.#fd, record, this.#size) : fs.writeSync(this.#fd, record, 0, length, this.#size);
    } catch (e) {
      throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `appending to the journal ${this.path} failed: ${(e as Error).message}; the write was not applied`, { cause: e });
    }
    if (written === length) {
      this.#size += length;
      return;
    }
    // A short write (disk full): cut it off, so the next record does not
    // land behind half a record.
    try {
      fs.ftruncateSync(this.#fd, this.#size);
    } catch (e) {
      this.#broken = new RmmapError('ERR_RMMAP_JOURNAL_IO', `the journal ${this.path} holds a partial record that cannot be cut off (${(e as Error).message}); restart rmmapd`, {
        cause: e,
      });
      throw this.#broken;
    }
    throw new RmmapError('ERR_RMMAP_JOURNAL_IO', `appending to the journal ${this.path} wrote ${written} of ${length} bytes (disk full?); the write was not applied`);
  }
}

function removeStale(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
