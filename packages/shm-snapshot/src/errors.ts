import { ShmkitError } from '@shmkit/shm-fd';

/**
 * Base class of every error shm-snapshot throws. Match on `err.code`:
 *
 * | code | class | meaning |
 * |---|---|---|
 * | ERR_SNAPSHOT_BAD_MAGIC | SnapshotCorruptError | page 0 does not start with the v1 magic |
 * | ERR_SNAPSHOT_BAD_MASK | SnapshotCorruptError | entry_mask or page_mask is not 2^k − 1, or outside what configure() lays out |
 * | ERR_SNAPSHOT_TRUNCATED | SnapshotCorruptError | the file is shorter than the layout its head declares |
 * | ERR_SNAPSHOT_BAD_ENTRY | SnapshotCorruptError | an entry longer than the ring, or past the written stream |
 * | ERR_SNAPSHOT_OFFSET_RANGE | SnapshotCorruptError | the write offset is beyond 2^53 − 2^47 (shmkit's limit), more than one payload past the newest entry, or says an entry was overwritten that no entry reaches past |
 * | ERR_SNAPSHOT_FILE_TOO_SMALL | SnapshotConfigError | configure() asked for more than the file holds |
 * | ERR_SNAPSHOT_BAD_CONFIG | SnapshotConfigError | entries / dataBytes are not powers of two in range |
 * | ERR_SNAPSHOT_PAYLOAD | SnapshotPayloadError | empty payload, or longer than the ring allows |
 * | ERR_SNAPSHOT_STREAM_FULL | SnapshotPayloadError | a commit would take the stream past 2^53 − 2^47 bytes |
 * | ERR_SNAPSHOT_WRITER_EXISTS | ShmSnapshotError | a second Writer for the same file |
 * | ERR_SNAPSHOT_MISALIGNED | ShmSnapshotError | the memory is not 8-byte aligned |
 * | ERR_SNAPSHOT_BACKUP_BUSY | ShmSnapshotError | shm-restore: another wrapper uses this BACKUP |
 * | ERR_SNAPSHOT_FILE_TOO_LARGE | ShmSnapshotError | shm-restore: the child resized the shared file beyond 2^53 − 1 bytes |
 *
 * Codes are never renamed or reused.
 */
export class ShmSnapshotError extends ShmkitError {}

/** The bytes are not a consistent shm-snapshot v1 file; the message says which rule failed. */
export class SnapshotCorruptError extends ShmSnapshotError {}

/** A configuration the file cannot hold. */
export class SnapshotConfigError extends ShmSnapshotError {}

/** A payload the journal cannot take. */
export class SnapshotPayloadError extends ShmSnapshotError {}
