// Wire constants of the push protocol; docs/PUSH.md is the spec.

/** "RMPS": opens every push, so a receiver rejects strangers at byte 4. */
export const HEADER_MAGIC = 0x524d5053;
/** "RMPE": opens the trailer after the data. */
export const TRAILER_MAGIC = 0x524d5045;
/** "RMPR": opens every receiver reply. */
export const REPLY_MAGIC = 0x524d5052;

export const PROTOCOL_VERSION = 1;

/** magic u32, version u16, checksum u8, name length u8, size u64, token length u8, reserved u8 ×3. */
export const HEADER_FIXED_LEN = 20;
/** One path component on Linux (NAME_MAX). */
export const MAX_NAME_LEN = 255;
export const MAX_TOKEN_LEN = 255;
/** magic u32, status u8, reserved u8, message length u16. */
export const REPLY_FIXED_LEN = 8;
export const MAX_REPLY_MESSAGE_LEN = 1024;

/**
 * Checksum algorithms by wire id. xxh64 (XXH64 in WebAssembly, ~12 GB/s
 * here) is the default: it catches transmission and disk errors, and it is
 * hashed from the very memory the bytes are read into at both ends, so it
 * adds no copy (see PUSH.md, "Tuning"). crc32 (zlib, ~3.6 GB/s) was
 * the default before; a quarter of a receiver's CPU went into it. sha256
 * (~0.9-1.3 GB/s here with SHA-NI) also resists deliberate tampering, and
 * gets a hashing thread of its own for big files.
 */
export const CHECKSUMS = {
  1: { name: 'sha256', digestLen: 32 },
  2: { name: 'crc32', digestLen: 4 },
  3: { name: 'xxh64', digestLen: 8 },
} as const;
export type ChecksumId = keyof typeof CHECKSUMS;
export type ChecksumName = (typeof CHECKSUMS)[ChecksumId]['name'];
export const DEFAULT_CHECKSUM: ChecksumId = 3;
export const CHECKSUM_NAMES: readonly ChecksumName[] = Object.values(CHECKSUMS).map((c) => c.name);

export function checksumId(name: string): ChecksumId | undefined {
  for (const [id, c] of Object.entries(CHECKSUMS)) if (c.name === name) return Number(id) as ChecksumId;
  return undefined;
}

export function isChecksumName(s: string): s is ChecksumName {
  return checksumId(s) !== undefined;
}

/** magic u32, then the digest. */
export function trailerLen(checksum: ChecksumId): number {
  return 4 + CHECKSUMS[checksum].digestLen;
}

/** Sizes travel as u64 but must stay exact in a JS number. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** Temp files are `.rmmap-push-<pid>-<hex>.part`; the pid lets a restart clean up after a crash. */
export const TEMP_PREFIX = '.rmmap-push-';
export const TEMP_SUFFIX = '.part';

/** States of the reply parser. */
export const ReplyState = { FIXED: 0, MESSAGE: 1 } as const;
