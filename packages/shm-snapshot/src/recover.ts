import { SnapshotCorruptError } from './errors';
import {
  entryLengthWord,
  entryOffsetWord,
  geometry,
  HEAD_ENTRY_MASK,
  HEAD_PAGE_MASK,
  HEAD_VERSION,
  HEAD_WRITE_OFFSET,
  MAGIC,
  MAGIC_OTHER_ENDIAN,
  MAX_STREAM_OFFSET,
  PAGE_BYTES,
  type Geometry,
} from './layout';
import type { RecoveredConfiguration, Snapshot } from './snapshot';
import type { Words } from './words';

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
  if (writeOffset > BigInt(MAX_STREAM_OFFSET)) {
    throw new SnapshotCorruptError(
      'ERR_SNAPSHOT_OFFSET_RANGE',
      `page_write_offset is ${writeOffset}, beyond 2^53 − 1 stream bytes, which shmkit does not support`,
    );
  }
  const e = Number(entries);
  const d = Number(dataBytes);
  return { configuration: { entries: e, dataBytes: d, writeOffset: Number(writeOffset) }, geometry: geometry(e, d, fileBytes) };
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
 * `strict` (a file at rest) throws on the first corrupt entry; a live scan
 * (another process may be committing while we read) skips it instead,
 * since a torn or outrun read is indistinguishable from a bad entry.
 */
export function scanEntries(words: Words, g: Geometry, strict: boolean): Scan {
  const raw: Snapshot[] = [];
  // Length first: a non-zero length was stored after its offset.
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
      raw.push({ slot, offset: -1, length: -1 });
      continue;
    }
    raw.push({ slot, offset: Number(offset), length: Number(length) });
  }
  const writeOffsetWord = words.load(HEAD_WRITE_OFFSET);
  const writeOffset = writeOffsetWord > BigInt(MAX_STREAM_OFFSET) ? MAX_STREAM_OFFSET : Number(writeOffsetWord);
  const valid: Snapshot[] = [];
  const stale: Snapshot[] = [];
  let rejected = 0;
  for (const s of raw) {
    let problem: string | null = null;
    if (s.length < 0) problem = 'does not fit the ring';
    else if (s.offset + s.length > writeOffset) {
      problem = `covers stream bytes [${s.offset}, ${s.offset + s.length}) but only ${writeOffset} were written`;
    } else if (s.offset < writeOffset - g.dataBytes) {
      stale.push(s);
      continue;
    }
    if (problem === null) {
      valid.push(s);
      continue;
    }
    if (strict) throw new SnapshotCorruptError('ERR_SNAPSHOT_BAD_ENTRY', `entry ${s.slot} ${problem}: the file is corrupt`);
    rejected += 1;
  }
  valid.sort((a, b) => a.offset - b.offset);
  return { valid, stale, writeOffset, rejected };
}
