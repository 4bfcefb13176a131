import { ShmkitError } from '@shmkit/shm-fd';

import type { TinyFileCode } from './codes';

/**
 * Base class of every error tinyfile throws. Match on `err.code`; the codes
 * and their meanings are the table in codes.ts.
 */
export class TinyFileError extends ShmkitError<TinyFileCode> {}

/** Snappy data that fails to decode; `offset` is where in the input it went wrong, when known. */
export class CorruptInputError extends TinyFileError {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number, code: TinyFileCode = 'ERR_TINYFILE_CORRUPT_INPUT') {
    super(code, offset === undefined ? message : `${message} (at input byte ${offset})`);
    this.offset = offset;
  }
}

/** The daemon went away, or was never there. */
export class DaemonError extends TinyFileError {}

export class TinyFileClosedError extends TinyFileError {
  constructor() {
    super('ERR_TINYFILE_CLOSED', 'the TinyFile client is closed; connect a new one');
  }
}
