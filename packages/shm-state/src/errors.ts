import { ShmkitError } from '@shmkit/shm-fd';

/**
 * Base class of shm-state errors. Match on `err.code`:
 *
 * - `ERR_SHM_STATE_BAD_HEADER`: a structure's header in shared memory does not
 *   match (wrong magic, version, or impossible geometry); it was not created
 *   by this library or it is corrupt. Recreate it or open the right offset.
 * - `ERR_SHM_STATE_TOO_SMALL`: the buffer cannot hold the structure.
 * - `ERR_SHM_STATE_ALIGNMENT`: the offset is not aligned as required.
 * - `ERR_SHM_STATE_MESSAGE_TOO_LARGE`: a message does not fit the queue.
 * - `ERR_SHM_STATE_NOT_OWNER`: unlocking a lock this process does not hold.
 * - `ERR_SHM_STATE_NO_FUTEX`: a blocking wait over memory that is neither a
 *   shmkit mapping nor a SharedArrayBuffer.
 * - `ERR_SHM_STATE_BUFFER_TOO_SMALL`: a destination buffer is too small.
 * - `ERR_SHM_STATE_DOORBELL`: another process's doorbell cannot be opened.
 * - `ERR_SHM_STATE_CORRUPT`: a word of a structure already open (a position,
 *   a length, a sequence number) holds a value the structure cannot have; a
 *   process sharing the memory wrote it. That call fails; the structure is
 *   not trusted further by it. Recreate the structure.
 */
export class ShmStateError extends ShmkitError {}

/** A header in shared memory failed validation; it is reported, never trusted. */
export class ShmStateCorruptError extends ShmStateError {
  constructor(what: string, detail: string) {
    super('ERR_SHM_STATE_BAD_HEADER', `${what}: ${detail}; recreate it, or open the offset where it was created`);
  }
}

/** Node's shape for an aborted wait (`AbortSignal`). */
export class AbortError extends ShmStateError {
  constructor(what: string, cause?: unknown) {
    super('ABORT_ERR', `${what} was aborted`, { cause });
    this.name = 'AbortError';
  }
}

/**
 * A word another process can write held an impossible value while a structure
 * was in use. Names the structure and the word; the call that read it failed
 * without touching memory outside the structure.
 */
export class ShmStateCorruptWordError extends ShmStateError {
  readonly structure: string;
  readonly word: string;

  constructor(structure: string, word: string, detail: string) {
    super(
      'ERR_SHM_STATE_CORRUPT',
      `${structure}: ${word} ${detail}; a process sharing this memory wrote a value this structure cannot hold; recreate it and check who writes there`,
    );
    this.structure = structure;
    this.word = word;
  }
}
