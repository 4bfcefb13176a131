// The shm-snapshot v1 layout, byte for byte as the Rust crate lays it out
// (HeroicKatora/shmfd@5b87162 shm-snapshot/src/writer.rs; summarised in
// shared/formats/shm-fd-and-shm-snapshot.md §2). All words are u64 in native
// byte order.

/** Page 0, word 0: names the layout version; a file is initialised only if it matches. */
export const MAGIC = 0x96c2a6f4b68519b3n;
/** The magic as a big-endian machine would have stored it. */
export const MAGIC_OTHER_ENDIAN = 0xb31985b6f4a6c296n;

/** The format's page size; fixed by the format, not by the machine. */
export const PAGE_BYTES = 4096;

/** Word indices in the head page. */
export const HEAD_VERSION = 0;
export const HEAD_ENTRY_MASK = 1;
export const HEAD_PAGE_MASK = 2;
export const HEAD_WRITE_OFFSET = 3;

/** Entry i lives at SEQUENCE_OFFSET + 16 * i: u64 offset, then u64 length. */
export const SEQUENCE_OFFSET = PAGE_BYTES;
export const ENTRY_BYTES = 16;
export const ENTRIES_PER_PAGE = PAGE_BYTES / ENTRY_BYTES;

/** shmkit keeps stream positions in doubles. */
export const MAX_STREAM_OFFSET = Number.MAX_SAFE_INTEGER;
/**
 * Largest page_write_offset shmkit writes or accepts: 2^53 − 2^47, so that a
 * commit past it (at most MAX_DATA_BYTES − 1 bytes) and every `offset +
 * dataBytes` stays an exact double. A writer refuses commits beyond it
 * (ERR_SNAPSHOT_STREAM_FULL); a head beyond it is corrupt.
 */
export const MAX_WRITE_OFFSET = 2 ** 53 - 2 ** 47;
/** Limits configure() accepts: 16 Mi entries (256 MiB of sequence pages), 64 TiB of ring. */
export const MAX_ENTRIES = 2 ** 24;
export const MAX_DATA_BYTES = 2 ** 46;

/** Where each region of a configured file lies. */
export interface Geometry {
  /** Entry slots (a power of two). */
  readonly entries: number;
  /** Bytes in the data ring (a power of two). */
  readonly dataBytes: number;
  readonly sequencePages: number;
  /** File offset D of stream byte 0 (stream byte s lives at D + (s & (dataBytes − 1))). */
  readonly dataOffset: number;
  readonly ringPages: number;
  /** File offset of the application's tail. */
  readonly tailOffset: number;
  /** Whole pages after the ring; a trailing partial page is unused. */
  readonly tailBytes: number;
  /** Smallest file that holds head, sequence and ring. */
  readonly minFileBytes: number;
}

export function sequencePagesFor(entries: number): number {
  return Math.ceil(entries / ENTRIES_PER_PAGE);
}

/** The regions of a file of `fileBytes` configured with `entries` and `dataBytes` (already validated). */
export function geometry(entries: number, dataBytes: number, fileBytes: number): Geometry {
  const sequencePages = sequencePagesFor(entries);
  const ringPages = Math.ceil(dataBytes / PAGE_BYTES);
  const dataOffset = PAGE_BYTES * (1 + sequencePages);
  const tailOffset = dataOffset + PAGE_BYTES * ringPages;
  const wholePages = Math.floor(fileBytes / PAGE_BYTES) * PAGE_BYTES;
  return {
    entries,
    dataBytes,
    sequencePages,
    dataOffset,
    ringPages,
    tailOffset,
    tailBytes: Math.max(0, wholePages - tailOffset),
    minFileBytes: tailOffset,
  };
}

export function isPowerOfTwo(n: number): boolean {
  // Math.log2 is exact on powers of two; bitwise tricks stop at 2^31.
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Word index of slot i's offset in a u64 view starting at the head page. */
export function entryOffsetWord(slot: number): number {
  return (SEQUENCE_OFFSET >> 3) + 2 * slot;
}

export function entryLengthWord(slot: number): number {
  return (SEQUENCE_OFFSET >> 3) + 2 * slot + 1;
}
