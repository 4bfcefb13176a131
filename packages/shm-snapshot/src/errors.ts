import { ShmkitError } from '@shmkit/shm-fd';

import type { SnapshotCode } from './codes';

/**
 * Base class of every error shm-snapshot throws. Match on `err.code`; the
 * codes and their meanings are the table in codes.ts. Codes are never renamed
 * or reused.
 */
export class ShmSnapshotError extends ShmkitError<SnapshotCode> {}

/** The bytes are not a consistent shm-snapshot v1 file; the message says which rule failed. */
export class SnapshotCorruptError extends ShmSnapshotError {}

/** A configuration the file cannot hold. */
export class SnapshotConfigError extends ShmSnapshotError {}

/** A payload the journal cannot take. */
export class SnapshotPayloadError extends ShmSnapshotError {}
