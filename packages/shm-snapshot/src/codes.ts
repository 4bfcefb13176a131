// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

export const SNAPSHOT_CODES = {
  ERR_SNAPSHOT_BAD_MAGIC: 'page 0 lacks the v1 magic (or has it in the other byte order)',
  ERR_SNAPSHOT_BAD_MASK: '`entry_mask` or `page_mask` is not 2ᵏ − 1, declares more than 2²⁴ entries or a ring outside 2 to 2⁴⁶ bytes, or a slot past the declared entries holds data',
  ERR_SNAPSHOT_TRUNCATED: 'the file is shorter than the layout its head declares',
  ERR_SNAPSHOT_BAD_ENTRY: 'an entry longer than the ring, or past the written stream',
  ERR_SNAPSHOT_OFFSET_RANGE: 'write offset beyond 2⁵³ − 2⁴⁷ (shmkit\'s limit), a whole ring or more past the newest entry, or claiming an entry was overwritten that no entry reaches past',
  ERR_SNAPSHOT_FILE_TOO_SMALL: '`configure()` needs a larger file',
  ERR_SNAPSHOT_BAD_CONFIG: 'entries / dataBytes not powers of two in range',
  ERR_SNAPSHOT_PAYLOAD: 'empty payload, or longer than `dataBytes − 1`',
  ERR_SNAPSHOT_STREAM_FULL: 'a commit would take the stream past 2⁵³ − 2⁴⁷ bytes',
  ERR_SNAPSHOT_WRITER_EXISTS: 'a second Writer on the same `SnapshotFile`',
  ERR_SNAPSHOT_MISALIGNED: 'a Writer over memory that is not 8-byte aligned',
  ERR_SNAPSHOT_BACKUP_BUSY: 'shm-restore: another wrapper holds BACKUP\'s lock',
  ERR_SNAPSHOT_FILE_TOO_LARGE: 'shm-restore: the child resized the shared file beyond 2⁵³ − 1 bytes (the cycle or final write-back is skipped, BACKUP kept)',
  ERR_SHM_UNSAFE_PATH: 'shm-restore: BACKUP, its directory, lock or temp file could have been planted by another user (`UnsafePathError` from shm-fd)',
  ERR_SHM_CLOSED: 'used after `close()` (`ShmClosedError` from shm-fd)',
  ENOENT: 'a snapshot file that does not exist (`SystemError`)',
} as const;

export type SnapshotCode = keyof typeof SNAPSHOT_CODES;
