import { SnapshotCorruptError } from './errors';
import {
  entryLengthWord,
  ENTRIES_PER_PAGE,
  entryOffsetWord,
  geometry,
  HEAD_ENTRY_MASK,
  HEAD_PAGE_MASK,
  HEAD_VERSION,
  HEAD_WRITE_OFFSET,
  MAGIC,
  MAGIC_OTHER_ENDIAN,
  MAX_DATA_BYTES,
  MAX_ENTRIES,
  MAX_STREAM_OFFSET,
  MAX_WRITE_OFFSET,
  PAGE_BYTES,
  type Geometry,
} from './layout';
import type { RecoveredConfiguration, Snapshot } from './snapshot';
import type { Words } from './u64-words';

export interface Head {
  configuration: RecoveredConfiguration;
  geometry: Geometry;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

function isMask(m: bigint): boolean {
  // 2^k − 1: adding one clears every set bit.
  return (m & (m + 1n)) === 0n;
}

/**
 * Reads and checks the head page of a file of `fileBytes` bytes whose first
 * words are `words`. Returns null for a file that was never configured
 * (version word 0, including an empty file); throws SnapshotCorruptError
 * for anything else that is not a consistent v1 head. Reads only; every
 * bound is checked before a word past the head is touched.
 */
export function readHead(mem: Uint8Array, words: Words, fileBytes: number): Head | null {
  if (fileBytes < 8) {
    if (mem.subarray(0, fileBytes).every((b) => b === 0)) return null;
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_TRUNCATED',
      `the file has ${fileBytes} bytes, too few for the 8-byte version word; it is not a shm-snapshot file (or was cut short)`,
    );
  }
  const version = words.load(HEAD_VERSION);
  if (version === 0n) return null;
  if (version === MAGIC_OTHER_ENDIAN) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_BAD_MAGIC',
      'the version word is the shm-snapshot magic in the other byte order: the file was written on a machine of different endianness and cannot be used here',
    );
  }
  if (version !== MAGIC) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_BAD_MAGIC',
      `the version word is ${hex(version)}, not the shm-snapshot v1 magic ${hex(MAGIC)}: this is not a shm-snapshot file`,
    );
  }
  if (fileBytes < PAGE_BYTES) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_TRUNCATED',
      `the file has ${fileBytes} bytes but the head page alone needs ${PAGE_BYTES}: it was cut short`,
    );
  }
  const entryMask = words.load(HEAD_ENTRY_MASK);
  const pageMask = words.load(HEAD_PAGE_MASK);
  const writeOffset = words.load(HEAD_WRITE_OFFSET);
  if (!isMask(entryMask)) {
    throw new SnapshotCorruptError('ERR_SNAPSHOT_BAD_MASK', `entry_mask is ${hex(entryMask)}, not 2^k − 1: the head is corrupt`);
  }
  if (!isMask(pageMask)) {
    throw new SnapshotCorruptError('ERR_SNAPSHOT_BAD_MASK', `page_mask is ${hex(pageMask)}, not 2^k − 1: the head is corrupt`);
  }
  // Compare in bigint first: a corrupt mask may not fit a double.
  const pages = BigInt(Math.floor(fileBytes / PAGE_BYTES));
  const entries = entryMask + 1n;
  const seqPages = (entries + 255n) / 256n;
  const dataBytes = pageMask + 1n;
  const ringPages = (dataBytes + BigInt(PAGE_BYTES) - 1n) / BigInt(PAGE_BYTES);
  if (1n + seqPages > pages) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_TRUNCATED',
      `the head declares ${entries} entries (${seqPages} sequence pages after the head page) but the file has only ${fileBytes} bytes: it was cut short or the head is corrupt`,
    );
  }
  if (1n + seqPages + ringPages > pages) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_TRUNCATED',
      `the head declares a data ring of ${dataBytes} bytes at offset ${PAGE_BYTES * (1 + Number(seqPages))}, larger than the ${fileBytes}-byte file: it was cut short or the head is corrupt`,
    );
  }
  // Within the file, but beyond what configure() lays out: no v1 writer of
  // ours made it, and loops over entries stay bounded.
  if (entries > BigInt(MAX_ENTRIES)) {
    throw new SnapshotCorruptError('ERR_SNAPSHOT_BAD_MASK', `entry_mask is ${hex(entryMask)}: ${entries} entries is more than the ${MAX_ENTRIES} a writer configures; the head is corrupt`);
  }
  if (dataBytes < 2n || dataBytes > BigInt(MAX_DATA_BYTES)) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_BAD_MASK',
      `page_mask is ${hex(pageMask)}: a ${dataBytes}-byte ring is outside the 2 to 2^46 bytes a writer configures; the head is corrupt`,
    );
  }
  if (writeOffset > BigInt(MAX_WRITE_OFFSET)) throw writeOffsetBeyondLimit(writeOffset);
  const e = Number(entries);
  const d = Number(dataBytes);
  return { configuration: { entries: e, dataBytes: d, writeOffset: Number(writeOffset) }, geometry: geometry(e, d, fileBytes) };
}

function writeOffsetBeyondLimit(writeOffset: bigint): SnapshotCorruptError {
  return new SnapshotCorruptError(
    'ERR_SNAPSHOT_OFFSET_RANGE',
    `page_write_offset is ${writeOffset}, beyond the ${MAX_WRITE_OFFSET} stream bytes (2^53 − 2^47) a writer reaches: the head is corrupt`,
  );
}

/**
 * The slots after the last one entry_mask declares, up to the end of the
 * sequence pages, are never written: configure() zeroes the pages and
 * writers only use slots below entries. Data there means entry_mask lost a
 * bit, which would silently hide the entries of those slots.
 */
function checkUnusedSlots(words: Words, g: Geometry): void {
  const slots = g.sequencePages * ENTRIES_PER_PAGE;
  for (let slot = g.entries; slot < slots; slot++) {
    if (words.load(entryOffsetWord(slot)) !== 0n || words.load(entryLengthWord(slot)) !== 0n) {
      throw new SnapshotCorruptError(
        'ERR_SNAPSHOT_BAD_MASK',
        `entry slot ${slot} holds data but entry_mask declares only ${g.entries} entries: the head is corrupt`,
      );
    }
  }
}

export interface Scan {
  valid: Snapshot[];
  /** Entries still marked valid whose bytes were overwritten since (o < write offset − dataBytes). */
  stale: Snapshot[];
  /** Write offset read after the entries, so it bounds every untorn entry. */
  writeOffset: number;
  /** Entries with a non-zero length that failed a check (only in live scans). */
  rejected: number;
}

/**
 * Collects the valid entries: length != 0 marks one (format §2). Each is
 * checked against the ring: its length must fit (≤ dataBytes − 1) and it
 * must lie inside the written stream (offset + length ≤ write offset);
 * otherwise the file is corrupt.
 *
 * An entry whose bytes were overwritten since (offset < write offset −
 * dataBytes) is not corruption but history: the Rust writer never
 * invalidates, so a file it continued after ours keeps such entries. They
 * are returned as `stale`, never as valid.
 *
 * The write offset itself is checked against the entries, so that a
 * damaged one cannot turn valid entries into history: a writer stores it at
 * most one payload (dataBytes − 1 bytes) past the end of its newest entry,
 * and an entry is history only when that newest entry proves its bytes
 * were overwritten (it ends more than dataBytes past the entry's start).
 *
 * `strict` (a file at rest) throws on the first corrupt entry or write
 * offset; a live scan (another process may be committing while we read)
 * skips bad entries instead, since a torn or outrun read is
 * indistinguishable from a bad entry, and takes the write offset as read.
 */
export function scanEntries(words: Words, g: Geometry, strict: boolean): Scan {
  const raw: Snapshot[] = [];
  let rejected = 0;
  // Length first: a non-zero length was stored after its offset. The loop
  // runs over g.entries, which readHead() bounded by the file's size.
  for (let slot = 0; slot < g.entries; slot++) {
    const length = words.load(entryLengthWord(slot));
    if (length === 0n) continue;
    const offset = words.load(entryOffsetWord(slot));
    if (length > BigInt(g.dataBytes - 1) || offset > BigInt(MAX_STREAM_OFFSET)) {
      if (strict) {
        throw new SnapshotCorruptError(
          'ERR_SNAPSHOT_BAD_ENTRY',
          `entry ${slot} claims ${length} bytes at stream offset ${offset}, which does not fit the ${g.dataBytes}-byte ring: the file is corrupt`,
        );
      }
      rejected += 1;
      continue;
    }
    raw.push({ slot, offset: Number(offset), length: Number(length) });
  }
  if (strict) checkUnusedSlots(words, g);
  const writeOffsetWord = words.load(HEAD_WRITE_OFFSET);
  if (writeOffsetWord > BigInt(MAX_WRITE_OFFSET)) {
    if (strict) throw writeOffsetBeyondLimit(writeOffsetWord);
    return { valid: [], stale: [], writeOffset: MAX_WRITE_OFFSET, rejected: rejected + raw.length };
  }
  const writeOffset = Number(writeOffsetWord);
  const written: Snapshot[] = [];
  for (const s of raw) {
    if (s.offset + s.length <= writeOffset) {
      written.push(s);
      continue;
    }
    if (strict) {
      throw new SnapshotCorruptError(
        'ERR_SNAPSHOT_BAD_ENTRY',
        `entry ${s.slot} covers stream bytes [${s.offset}, ${s.offset + s.length}) but only ${writeOffset} were written: the file is corrupt`,
      );
    }
    rejected += 1;
  }
  let newestEnd = 0;
  for (const s of written) newestEnd = Math.max(newestEnd, s.offset + s.length);
  if (strict && written.length > 0 && writeOffset - newestEnd >= g.dataBytes) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_OFFSET_RANGE',
      `page_write_offset is ${writeOffset}, ${writeOffset - newestEnd} bytes past the end of the newest entry (${newestEnd}), but a writer stores it at most one payload (${g.dataBytes - 1} bytes) past it: the head is corrupt`,
    );
  }
  const valid: Snapshot[] = [];
  const stale: Snapshot[] = [];
  for (const s of written) {
    if (s.offset >= writeOffset - g.dataBytes) valid.push(s);
    else if (!strict || s.offset < newestEnd - g.dataBytes) stale.push(s);
    else {
      throw new SnapshotCorruptError(
        'ERR_SNAPSHOT_OFFSET_RANGE',
        `page_write_offset ${writeOffset} would mean entry ${s.slot} (stream bytes [${s.offset}, ${s.offset + s.length})) was overwritten, but no entry reaches that far (the newest ends at ${newestEnd}): the head is corrupt`,
      );
    }
  }
  valid.sort((a, b) => a.offset - b.offset);
  return { valid, stale, writeOffset, rejected };
}
