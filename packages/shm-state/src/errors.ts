import { ShmkitError } from '@shmkit/shm-fd';

import type { ShmStateCode } from './codes';

/**
 * Base class of shm-state errors. Match on `err.code`; the codes and their
 * meanings are the table in codes.ts.
 */
export class ShmStateError extends ShmkitError<ShmStateCode> {}

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
