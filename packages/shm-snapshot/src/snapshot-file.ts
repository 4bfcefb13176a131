import { ShmClosedError, type Mapping, type SharedFd } from '@shmkit/shm-fd';

import { ShmSnapshotError, SnapshotConfigError } from './errors';
import type { FileAccess } from './file-access';
import {
  geometry,
  HEAD_ENTRY_MASK,
  HEAD_PAGE_MASK,
  HEAD_VERSION,
  HEAD_WRITE_OFFSET,
  isPowerOfTwo,
  MAGIC,
  MAX_DATA_BYTES,
  MAX_ENTRIES,
  PAGE_BYTES,
  SEQUENCE_OFFSET,
} from './layout';
import { readHead } from './file-scan';
import { Recovery } from './recovery';
import type { Configuration } from './snapshot';
import { Words } from './u64-words';
import { Writer } from './writer';

export interface RecoverOptions {
  /**
   * Another process may be committing while we read: entries that fail a
   * bounds check are skipped rather than reported as corruption.
   */
  live?: boolean;
}

/**
 * A shm-snapshot v1 file in memory: a mapping of the shared file, or any
 * Buffer holding a copy of one.
 *
 * Ownership: a SnapshotFile made by SnapshotFile.map() owns its mapping and
 * close() unmaps it; one made over a Mapping or Buffer you pass borrows it,
 * and close() only stops this object from using it. Views handed out
 * (tail(), tailBuffer()) stay valid until the mapping closes; after that
 * they read zeros (shm-fd's Mapping guarantee).
 */
export class SnapshotFile implements Disposable {
  readonly #mem: Buffer;
  readonly #mapping: Mapping | null;
  readonly #owned: boolean;
  #closed = false;
  #words: Words | undefined;
  #hasWriter = false;
  readonly #access: FileAccess;

  constructor(memory: Mapping | Uint8Array, options: { own?: boolean } = {}) {
    if (memory instanceof Uint8Array) {
      this.#mem = Buffer.from(memory.buffer, memory.byteOffset, memory.length);
      this.#mapping = null;
    } else {
      this.#mem = memory.buffer;
      this.#mapping = memory;
    }
    this.#owned = options.own === true && this.#mapping !== null;
    const isClosed = () => this.closed;
    this.#access = {
      get closed() {
        return isClosed();
      },
      memory: () => this.#memory(),
      words: () => (this.#words ??= new Words(this.#memory())),
      claimWriter: () => {
        if (this.#hasWriter) {
          throw new ShmSnapshotError('ERR_SNAPSHOT_WRITER_EXISTS', 'this file already has a Writer; a journal has exactly one writer');
        }
        this.#hasWriter = true;
      },
    };
  }

  /** Maps the whole shared file (writable unless told otherwise); the SnapshotFile owns the mapping. */
  static map(shared: SharedFd, options: { writable?: boolean } = {}): SnapshotFile {
    const m = shared.map({ writable: options.writable ?? true });
    try {
      return new SnapshotFile(m, { own: true });
    } catch (err) {
      m.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed || (this.#mapping !== null && this.#mapping.closed);
  }

  /** File size in bytes. */
  get length(): number {
    return this.#mem.length;
  }

  #memory(): Buffer {
    if (this.closed) throw new ShmClosedError('the snapshot file');
    return this.#mem;
  }

  /**
   * Finds the configuration of an existing file. Returns null for a file
   * never configured (version word 0, or empty); throws SnapshotCorruptError
   * naming the broken rule for anything that is not a consistent v1 file.
   * Reads only.
   */
  recover(options: RecoverOptions = {}): Recovery | null {
    const mem = this.#memory();
    const head = readHead(mem, this.#access.words(), mem.length);
    if (head === null) return null;
    const r = new Recovery(this.#access, head.configuration, head.geometry, options.live === true);
    // A file at rest must have consistent entries too, so check them now.
    if (options.live !== true) r.valid();
    return r;
  }

  /**
   * Lays out a new journal: `entries` slots and a `dataBytes` ring (both
   * powers of two), everything after the ring left to the application.
   * Existing snapshots are dropped. The version word is cleared first and
   * written last, so a file configured halfway never carries the magic.
   */
  configure(cfg: Configuration): Writer {
    const mem = this.#memory();
    const { entries, dataBytes } = cfg;
    if (!isPowerOfTwo(entries) || entries > MAX_ENTRIES) {
      throw new SnapshotConfigError('ERR_SNAPSHOT_BAD_CONFIG', `entries must be a power of two from 1 to ${MAX_ENTRIES}, got ${entries}`);
    }
    if (!isPowerOfTwo(dataBytes) || dataBytes < 2 || dataBytes > MAX_DATA_BYTES) {
      throw new SnapshotConfigError('ERR_SNAPSHOT_BAD_CONFIG', `dataBytes must be a power of two from 2 to 2^46, got ${dataBytes}`);
    }
    const g = geometry(entries, dataBytes, mem.length);
    if (g.minFileBytes > mem.length) {
      throw new SnapshotConfigError(
        'ERR_SNAPSHOT_FILE_TOO_SMALL',
        `${entries} entries and a ${dataBytes}-byte ring need a file of at least ${g.minFileBytes} bytes; this one has ${mem.length}: resize it first`,
      );
    }
    const words = this.#access.words();
    if (words.atomic === null) throw new ShmSnapshotError('ERR_SNAPSHOT_MISALIGNED', 'configure() needs 8-byte aligned memory');
    this.#access.claimWriter();
    // Invariant for readers: no magic, no trust. Clear it before touching
    // the entries, restore it only after the head is complete.
    words.store(HEAD_VERSION, 0n);
    mem.fill(0, SEQUENCE_OFFSET, SEQUENCE_OFFSET + g.sequencePages * PAGE_BYTES);
    words.store(HEAD_ENTRY_MASK, BigInt(entries - 1));
    words.store(HEAD_PAGE_MASK, BigInt(dataBytes - 1));
    words.store(HEAD_WRITE_OFFSET, 0n);
    words.store(HEAD_VERSION, MAGIC);
    return new Writer(this.#access, g, 0, []);
  }

  /**
   * recover() and continue the journal, or configure() it with `defaults`
   * when it was never configured. Corrupt files throw (never silently
   * reconfigured).
   */
  openWriter(defaults: Configuration): { writer: Writer; recovered: Recovery | null } {
    const recovered = this.recover();
    return { writer: recovered === null ? this.configure(defaults) : recovered.writer(), recovered };
  }

  /** Stops using the memory; unmaps it if this object owns the mapping. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) this.#mapping?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
